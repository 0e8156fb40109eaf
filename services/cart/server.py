"""Runs the cart service until SIGTERM or SIGINT, then shuts down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zoneinfo
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from services.cart.gc_tuning import tune_for_serving
from services.common.postgres import redacted
from services.common.process_limits import connection_cap, raise_open_file_limit
from services.common.sockets import listening_socket
from services.common.stop_signal import until_stop_signal
from services.common.telemetry import Telemetry, configure_telemetry
from services.http_servers.http_limits import HttpLimits
from services.http_servers.uvicorn_server import http_server, wait_started

from .auth import TerminalAuthenticator
from .cart_service import CartService
from .http_api import CartApi
from .http_app import build_http_app
from .item_master import ItemMasterClient
from .item_master.change_watch import ItemChangeWatch
from .item_master_wiring import build_item_master
from .rate_limit import RateLimiter
from .repository import CartRepository
from .settings import CartSettings
from .storage import open_repository
from .transaction_api import TransactionApi
from .transaction_service import Closings, TransactionService

log = logging.getLogger("cart")


@dataclass(frozen=True)
class CartParts:
    """cart's parts, wired: what `serve` runs and what in-process tests drive."""

    service: CartService
    items: ItemMasterClient
    http_app: Starlette
    registry: CollectorRegistry
    watch: ItemChangeWatch | None  # keeps the item cache fresh


def assemble(
    repository: CartRepository,
    settings: CartSettings,
    *,
    items: ItemMasterClient | None = None,
    registry: CollectorRegistry | None = None,
    telemetry: Telemetry | None = None,
) -> CartParts:
    """Build every part of the cart; tests may bring their own item client and its registry.
    With `telemetry`, every request, lookup and call to master-data is traced."""
    registry = registry or CollectorRegistry()
    watch = None
    if items is None:
        items, watch = build_item_master(settings, registry, repository, telemetry)
    closings = Closings(zoneinfo.ZoneInfo(settings.business_timezone))
    service = CartService(
        repository,
        items,
        cache_size=settings.cart_cache_size,
        cache_bytes=settings.cart_cache_bytes,
        max_open_carts=settings.max_open_carts,
        closings=closings,
    )
    api = CartApi(
        service,
        TerminalAuthenticator(repository),
        settings.max_request_bytes,
        RateLimiter(settings.terminal_rate_limit, settings.terminal_rate_burst),
        settings.idempotency_key_ttl_seconds,
        tracer=telemetry.tracer if telemetry is not None else None,
    )
    transactions = TransactionApi(api, TransactionService(repository, closings))
    http_app = build_http_app(
        api, repository, registry, items.master_data_status, transactions.routes()
    )
    return CartParts(service, items, http_app, registry, watch)


async def serve(settings: CartSettings) -> None:
    files = raise_open_file_limit()
    cap = connection_cap(settings.max_connections, ports=1)
    if cap < settings.max_connections:
        log.info("connections capped at %d: the process may open %d files", cap, files)
        settings = settings.model_copy(update={"max_connections": cap})
    telemetry = configure_telemetry("cart")
    repository = await open_repository(settings)
    parts = assemble(repository, settings, telemetry=telemetry)
    sock = listening_socket(
        settings.bind_host, settings.http_port, setting="HTTP_PORT", reuse_port=settings.reuse_port
    )
    server = http_server(
        parts.http_app,
        grace_seconds=settings.shutdown_grace_seconds,
        log_level="warning",
        limits=HttpLimits.from_settings(settings),
        idle_timeout_seconds=settings.http_idle_timeout_seconds,
        cert_file=settings.tls_cert_file,
        key_file=settings.tls_key_file,
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_started(server, task)
    watching = asyncio.create_task(parts.watch.run()) if parts.watch else None
    tune_for_serving()
    port = sock.getsockname()[1]
    log.info("HTTP server started on port %d", port)
    log.info(
        "cart ready: http=%d db=%s master-data=%s item-cache=%s watch=%s tracing=%s",
        port,
        redacted(settings.cart_db),
        f"gRPC {settings.master_data_grpc_url}, HTTP fallback {settings.master_data_http_url}"
        if settings.use_grpc
        else f"HTTP {settings.master_data_http_url}",
        "on" if settings.use_item_cache else "off",
        "on" if parts.watch else "off",
        "on" if telemetry else "off",
    )
    await until_stop_signal(task)
    log.info("cart shutting down: finishing requests in flight")
    server.should_exit = True
    await task
    if watching is not None:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    if parts.watch is not None:
        await parts.watch.close()
    await parts.items.close()
    await repository.close()
    if telemetry is not None:
        telemetry.shutdown()  # the spans still batched go out
    log.info("cart stopped")
