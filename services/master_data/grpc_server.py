"""The grpclib server: ItemService behind its gate, plus standard health and reflection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grpclib.health.check import ServiceStatus
from grpclib.health.service import Health
from grpclib.reflection.service import ServerReflection
from grpclib.server import Server

from gen.google_proto_descriptor_pool import default_google_proto_descriptor_pool
from services.common.message_codec import StrictProtoCodec


@dataclass(frozen=True)
class GrpcServer:
    """The server, what it serves, and the switch that turns health to NOT_SERVING on drain."""

    server: Server
    services: list[Any]
    serving: ServiceStatus


def build_grpc_server(item_service: Any, *, max_message_bytes: int) -> GrpcServer:
    """A grpclib Server for an already guarded ItemService.

    Reflection reads betterproto2's descriptor pool, so `buf curl` and grpcurl need no schema.
    """
    serving = ServiceStatus()
    serving.set(True)
    health = Health({item_service: [serving]})
    services = [
        *ServerReflection.extend([item_service], pool=default_google_proto_descriptor_pool),
        health,
    ]
    server = Server(services, codec=StrictProtoCodec(max_message_bytes))
    return GrpcServer(server=server, services=services, serving=serving)
