"""Runs master-data: both transports in one process, until SIGTERM or SIGINT.

Shutdown is graceful: health turns NOT_SERVING, new rpcs get UNAVAILABLE (so a client falls
back or retries elsewhere), calls in flight get up to SHUTDOWN_GRACE_SECONDS to finish, then the
servers and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from grpclib.server import Server
from prometheus_client import CollectorRegistry, Gauge
from starlette.applications import Starlette

from gen.google_proto_descriptor_pool import default_google_proto_descriptor_pool
from services.common.postgres import redacted
from services.common.process_limits import connection_cap, raise_open_file_limit
from services.common.secrets import BearerToken, scoped_tokens
from services.common.sockets import BACKLOG, listening_socket
from services.common.stop_signal import until_stop_signal
from services.common.telemetry import Telemetry, configure_telemetry
from services.common.tls import server_context
from services.http_servers.http_limits import HttpLimits
from services.http_servers.hypercorn_server import EmbeddedHypercorn, hypercorn_server
from services.http_servers.uvicorn_server import EmbeddedUvicorn, http_server, wait_started
from services.rpc.call_gate import CallGate
from services.rpc.connect_server import ConnectEndpoint, method_table
from services.rpc.cors import parse_origins
from services.rpc.grpc_connection import GrpcLimits
from services.rpc.interceptors import ServerInterceptor, intercepted
from services.rpc.rpc_metrics import RpcMetrics
from services.rpc.rpc_tracing import ServerTracing
from services.rpc.servable import HandlerTable
from services.wire.codec import EncodedForms
from services.wire.flood_guard import FloodRecord

from .admin_api import AdminApi
from .catalog import ItemCatalog
from .change_log import SharedChangeLog
from .grpc_server import build_grpc_server
from .http_app import build_http_app
from .item_service import ItemService
from .item_watch import Watches, WatchWakeup
from .repository import ItemRepository
from .settings import MasterDataSettings
from .storage import open_repository

log = logging.getLogger("master_data")


@dataclass(frozen=True)
class MasterData:
    """master-data's parts, wired: what `serve` runs and what in-process tests drive."""

    catalog: ItemCatalog
    feed: WatchWakeup  # wakes the WatchItemChanges streams
    gate: CallGate
    item_service: HandlerTable
    http_app: Starlette
    known: EncodedForms | None  # the encoded forms of the catalog's cached items
    connect: ConnectEndpoint  # its open streams end at shutdown
    flood: FloodRecord  # connections the HTTP/2 flood guards closed, on /metrics


def assemble(
    repository: ItemRepository, settings: MasterDataSettings, telemetry: Telemetry | None = None
) -> MasterData:
    """Build every part of master-data over one repository; with `telemetry`, every rpc traced
    (and timed as OpenTelemetry metrics, when those are configured)."""
    catalog = ItemCatalog(repository, settings.catalog_cache_size)
    feed = WatchWakeup()
    catalog.write_listeners.append(feed.wake)
    change_log = SharedChangeLog(repository)
    watches = Watches(
        repository,
        feed,
        settings.watch_heartbeat_seconds,
        change_log,
        max_per_connection=settings.max_watches_per_connection,
        max_per_token=settings.max_watches_per_token,
    )
    scoped = settings.master_data_tokens
    token = BearerToken(
        settings.master_data_token, scoped_tokens(scoped.get_secret_value()) if scoped else None
    )
    gate = CallGate(
        token, storage_name="item store", injected_delay_seconds=settings.debug_rpc_delay_ms / 1000
    )
    known = EncodedForms(settings.catalog_cache_size) if settings.catalog_cache_size else None
    registry = CollectorRegistry()
    # Tracing and metrics outermost: they see what the gate refuses too.
    outer: list[ServerInterceptor] = [RpcMetrics(registry)]
    if telemetry is not None:
        outer.insert(0, ServerTracing(telemetry.tracer, telemetry.meter))
    item_service = intercepted(
        gate.guard(ItemService(catalog, known, watches), authenticate=True), outer
    )
    connect = ConnectEndpoint(
        method_table([item_service], default_google_proto_descriptor_pool),
        settings.max_request_bytes,
        known,
        token,
        send_timeout=settings.watch_send_timeout_seconds,
    )
    admin = AdminApi(
        catalog,
        BearerToken(settings.admin_token),
        settings.max_request_bytes,
        telemetry.tracer if telemetry is not None else None,
    )
    Gauge(
        "item_watches_open", "WatchItemChanges streams open in this process", registry=registry
    ).set_function(lambda: feed.open_watches)
    Gauge(
        "item_change_log_reads",
        "Reads of the change log made for this process's watches (one per wake-up, shared)",
        registry=registry,
    ).set_function(lambda: change_log.queries)
    http_app = build_http_app(
        connect,
        admin,
        repository,
        registry,
        parse_origins(settings.cors_allowed_origins),
        cors_admin_api=settings.cors_admin_api,
        cors_credentials=settings.cors_allow_credentials,
    )
    flood = FloodRecord(registry)
    return MasterData(catalog, feed, gate, item_service, http_app, known, connect, flood)


HttpServer = EmbeddedUvicorn | EmbeddedHypercorn


def _http_server(app: Starlette, settings: MasterDataSettings, flood: FloodRecord) -> HttpServer:
    """uvicorn by default (the faster HTTP/1.1 here); Hypercorn when HTTP/2 is wanted."""
    limits = HttpLimits.from_settings(settings)
    if settings.http_server == "hypercorn":
        return hypercorn_server(
            app,
            grace_seconds=settings.shutdown_grace_seconds,
            limits=limits,
            idle_timeout_seconds=settings.http_idle_timeout_seconds,
            cert_file=settings.tls_cert_file,
            key_file=settings.tls_key_file,
            flood=flood,
        )
    return http_server(
        app,
        grace_seconds=settings.shutdown_grace_seconds,
        log_level="warning",
        limits=limits,
        idle_timeout_seconds=settings.http_idle_timeout_seconds,
        cert_file=settings.tls_cert_file,
        key_file=settings.tls_key_file,
    )


def grpc_limits(settings: MasterDataSettings) -> GrpcLimits:
    return GrpcLimits(
        max_message_bytes=settings.max_request_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_connections,
        first_request_timeout_seconds=settings.request_read_timeout_seconds,
        idle_timeout_seconds=settings.grpc_idle_timeout_seconds,
        stream_send_timeout_seconds=settings.watch_send_timeout_seconds,
        max_connection_age_seconds=settings.max_connection_age_seconds,
        max_connection_age_grace_seconds=settings.max_connection_age_grace_seconds,
    )


async def serve(settings: MasterDataSettings) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully."""
    files = raise_open_file_limit()
    cap = connection_cap(settings.max_connections, ports=2 if settings.use_grpc else 1)
    if cap < settings.max_connections:
        log.info("connections capped at %d a port: the process may open %d files", cap, files)
        settings = settings.model_copy(update={"max_connections": cap})
    telemetry = configure_telemetry("master-data")
    repository = await open_repository(settings)
    parts = assemble(repository, settings, telemetry)
    catalog, gate, item_service = parts.catalog, parts.gate, parts.item_service
    http_socket = listening_socket(
        settings.bind_host, settings.http_port, setting="HTTP_PORT", reuse_port=settings.reuse_port
    )
    web = _http_server(parts.http_app, settings, parts.flood)

    grpc = None
    if settings.use_grpc:
        grpc = build_grpc_server(
            item_service, limits=grpc_limits(settings), known=parts.known, flood=parts.flood
        )
        grpc_socket = listening_socket(
            settings.bind_host,
            settings.grpc_port,
            setting="GRPC_PORT",
            reuse_port=settings.reuse_port,
        )
        tls = None
        if settings.tls_cert_file and settings.tls_key_file:
            tls = server_context(settings.tls_cert_file, settings.tls_key_file, alpn=["h2"])
        await grpc.server.start(sock=grpc_socket, ssl=tls, backlog=BACKLOG)
        log.info("gRPC server started on port %d", grpc_socket.getsockname()[1])

    http_task = asyncio.create_task(web.serve(sockets=[http_socket]))
    await wait_started(web, http_task)
    log.info("HTTP server started on port %d", http_socket.getsockname()[1])

    # Another process or replica writing the same database clears this one's read cache and
    # wakes its change watches.
    def changed_elsewhere() -> None:
        catalog.invalidate()
        parts.feed.wake()

    follower = asyncio.create_task(
        repository.follow_changes(changed_elsewhere, settings.catalog_poll_seconds)
    )
    tenants = await repository.tenant_count()
    log.info(
        "master-data ready: grpc=%s http=%d db=%s tenants=%d auth=%s tls=%s tracing=%s",
        grpc_socket.getsockname()[1] if grpc else "off",
        http_socket.getsockname()[1],
        redacted(settings.master_data_db),
        tenants,
        "on" if settings.master_data_token else "off",
        "on" if settings.tls_cert_file else "off",
        "on" if telemetry else "off",
    )
    if not tenants:  # serving stays on: the admin API is how the first import arrives
        log.warning(
            "master-data serves no tenant: every lookup answers tenant_not_found until master "
            "files are imported (master-data import, the admin API) or the demo data seeded"
        )

    await until_stop_signal(http_task)

    parts.feed.close()  # change watches end now: their clients resume at another replica
    log.info("master-data shutting down: draining %d calls in flight", gate.in_flight)
    if grpc:
        grpc.serving.set(False)
    if not await gate.drain(settings.shutdown_grace_seconds):
        log.warning("grace period over with %d calls in flight: cancelling them", gate.in_flight)
    parts.connect.close_streams()  # any still open end UNAVAILABLE, not cut off mid-message
    web.should_exit = True
    await http_task
    if grpc:
        await _close_grpc(grpc.server)
    follower.cancel()
    await repository.close()
    if telemetry is not None:
        telemetry.shutdown()  # the spans still batched go out
    log.info("master-data stopped")


async def _close_grpc(server: Server) -> None:
    server.close()
    with contextlib.suppress(asyncio.CancelledError):
        await server.wait_closed()
