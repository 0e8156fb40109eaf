"""The grpclib server: ItemService behind its gate, plus standard health and reflection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grpclib.health.check import ServiceStatus
from grpclib.health.service import Health
from grpclib.reflection.service import ServerReflection
from grpclib.server import Server

from gen.google_proto_descriptor_pool import default_google_proto_descriptor_pool
from services.wire.codec import EncodedForms
from services.wire.grpc import StrictProtoCodec, checked_frames


@dataclass(frozen=True)
class GrpcServer:
    """The server, what it serves, and the switch that turns health to NOT_SERVING on drain."""

    server: Server
    services: list[Any]
    serving: ServiceStatus


def build_grpc_server(
    item_service: Any, *, max_message_bytes: int, known: EncodedForms | None = None
) -> GrpcServer:
    """A grpclib Server for an already guarded ItemService.

    Reflection reads betterproto2's descriptor pool, so `buf curl` and grpcurl need no schema.
    Every service reads its request frames through `checked_frames`.
    """
    serving = ServiceStatus()
    serving.set(True)
    health = Health({item_service: [serving]})
    served = [
        *ServerReflection.extend([item_service], pool=default_google_proto_descriptor_pool),
        health,
    ]
    services = [checked_frames(service, max_message_bytes) for service in served]
    server = Server(services, codec=StrictProtoCodec(max_message_bytes, known))
    return GrpcServer(server=server, services=services, serving=serving)
