"""The gRPC server: ItemService behind its gate, plus standard health and reflection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grpclib.health.check import ServiceStatus
from grpclib.health.service import Health
from grpclib.health.v1 import health_pb2
from grpclib.reflection.service import ServerReflection
from grpclib.reflection.v1 import reflection_pb2
from grpclib.reflection.v1alpha import reflection_pb2 as reflection_v1alpha_pb2

from gen.google_proto_descriptor_pool import default_google_proto_descriptor_pool as pool
from services.rpc.grpc_connection import GrpcLimits
from services.rpc.grpc_server import WireServer
from services.rpc.grpclib_seams import set_reflected_services
from services.wire.codec import EncodedForms
from services.wire.flood_guard import FloodRecord

# What reflection lists beside ItemService: the standard services this server also answers.
_STANDARD_FILES = (health_pb2, reflection_pb2, reflection_v1alpha_pb2)


@dataclass(frozen=True)
class GrpcServer:
    """The server, what it serves, and the switch that turns health to NOT_SERVING on drain."""

    server: WireServer
    services: list[Any]
    serving: ServiceStatus


def _names_of_services(services: list[Any]) -> list[str]:
    return sorted({path.split("/")[1] for s in services for path in s.__mapping__()})


class _MethodSymbols:
    """A descriptor pool that also finds the file of a method's full name (`pkg.Service.Method`),
    as grpc-go's and grpc-java's reflection do: ghz and `grpcurl describe` ask for one, and
    protobuf's pool knows only messages, enums, services and extensions."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service_name, _, method = symbol.rpartition(".")
            try:
                service = self._pool.FindServiceByName(service_name)
            except KeyError:
                service = None
            if service is None or method not in service.methods_by_name:
                raise
            return service.file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def _with_standard_files() -> Any:
    """betterproto2's descriptor pool, taught the health and reflection protos once."""
    for module in _STANDARD_FILES:
        try:
            pool.FindFileByName(module.DESCRIPTOR.name)
        except KeyError:
            pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    return _MethodSymbols(pool)


def build_grpc_server(
    item_service: Any,
    *,
    limits: GrpcLimits,
    known: EncodedForms | None = None,
    flood: FloodRecord | None = None,
) -> GrpcServer:
    """A gRPC server for an already guarded ItemService.

    Reflection lists every service served (ItemService, health, reflection), so `buf curl` and
    grpcurl need no schema for any of them.
    """
    serving = ServiceStatus()
    serving.set(True)
    health = Health({item_service: [serving]})
    services: list[Any] = ServerReflection.extend(
        [item_service, health], pool=_with_standard_files()
    )
    names = _names_of_services(services)
    for reflection in services[2:]:  # extend() lists only the services it was given
        set_reflected_services(reflection, names)
    return GrpcServer(WireServer(services, limits, known, flood), services, serving)
