"""Builds the ItemMasterClient the settings describe."""

from __future__ import annotations

import ssl

from prometheus_client import CollectorRegistry

from services.common.circuit_breaker import CircuitBreaker
from services.common.telemetry import Telemetry
from services.common.tls import client_context
from services.rpc.client_interceptors import ClientInterceptor
from services.rpc.grpc_balancer import BalancedChannel
from services.rpc.grpc_client import InterceptedChannel
from services.rpc.grpc_target import Address, parse_target
from services.rpc.rpc_tracing import ClientTracing
from services.wire.grpc import StrictProtoCodec

from .item_master.change_sources import (
    MAX_MESSAGE_BYTES,
    ChangeSource,
    ConnectChanges,
    GrpcChanges,
)
from .item_master.change_watch import ItemChangeWatch, WatchMetrics
from .item_master.client import ItemMasterClient
from .item_master.connect_transport import ConnectTransport
from .item_master.grpc_transport import GrpcTransport
from .item_master.item_cache import ItemCache
from .item_master.metrics import LookupMetrics
from .item_master.outage import Outage
from .item_master.preload import PreloadedItems
from .item_master.refresh import ChangedItems
from .item_master.transport import MAX_REPLY_BYTES
from .repository import CartRepository
from .settings import CartSettings


def client_interceptors(telemetry: Telemetry | None) -> list[ClientInterceptor]:
    """What every call to master-data passes through: a span per call when tracing is on."""
    if telemetry is None:
        return []
    return [ClientTracing(telemetry.tracer, telemetry.meter)]


def grpc_channel(
    settings: CartSettings,
    tls: ssl.SSLContext | None,
    max_message_bytes: int,
    interceptors: list[ClientInterceptor],
) -> BalancedChannel:
    """A channel over every address MASTER_DATA_GRPC_URL names (resolved again every
    MASTER_DATA_RESOLVE_SECONDS); TLS checks each against the name, not its address."""
    target = parse_target(settings.master_data_grpc_url)
    server_name = target.host if tls is not None and target.resolved_by_dns else None

    def connect(address: Address) -> InterceptedChannel:
        host, port = address
        codec = StrictProtoCodec(max_message_bytes)
        return InterceptedChannel(host, port, codec=codec, ssl=tls, server_name=server_name,
                                  interceptors=interceptors)  # fmt: skip

    return BalancedChannel(
        target,
        connect,
        resolve_every_seconds=settings.master_data_resolve_seconds,
        cooldown_seconds=settings.grpc_breaker_cooldown_seconds,
        handshake_seconds=settings.grpc_timeout,
        max_addresses=settings.master_data_max_addresses,
    )


def build_item_master_client(
    settings: CartSettings, registry: CollectorRegistry, telemetry: Telemetry | None = None
) -> ItemMasterClient:
    """One client per process: its channel and session are shared by every request and tenant."""
    token = settings.master_data_token.get_secret_value() if settings.master_data_token else None
    cache = (
        ItemCache(
            ttl=settings.item_cache_ttl_seconds,
            not_found_ttl=settings.item_not_found_ttl_seconds,
            max_size=settings.item_cache_size,
            max_stale=settings.max_stale_seconds,
        )
        if settings.use_item_cache
        else None
    )
    ca_file = settings.master_data_ca_file
    grpc_tls = client_context(ca_file, alpn=["h2"]) if settings.master_data_grpc_tls else None
    http_tls = client_context(ca_file, alpn=["http/1.1"]) if ca_file else None
    interceptors = client_interceptors(telemetry)
    grpc = None
    if settings.use_grpc:
        channel = grpc_channel(settings, grpc_tls, MAX_REPLY_BYTES, interceptors)
        grpc = GrpcTransport(channel, token)
    return ItemMasterClient(
        grpc=grpc,
        http=ConnectTransport(
            settings.master_data_http_url,
            token,
            settings.master_data_http_pool_size,
            tls=http_tls,
            interceptors=interceptors,
        ),
        timeout_seconds=settings.grpc_timeout,
        breaker=CircuitBreaker(settings.grpc_breaker_cooldown_seconds),
        cache=cache,
        metrics=LookupMetrics(registry),
        outage=None if cache is None else Outage(settings.grpc_breaker_cooldown_seconds, registry),
        tracer=telemetry.tracer if telemetry is not None else None,
    )


def build_change_watch(
    settings: CartSettings,
    items: ItemMasterClient,
    registry: CollectorRegistry,
    repository: CartRepository,
    telemetry: Telemetry | None = None,
) -> ItemChangeWatch | None:
    """The watch that keeps the item cache fresh; None without a cache or with it switched off.
    Over gRPC first when USE_GRPC is on (Connect as the fallback), else over Connect."""
    if items.cache is None or not settings.watch_item_changes:
        return None
    token = settings.master_data_token.get_secret_value() if settings.master_data_token else None
    ca_file = settings.master_data_ca_file
    http_tls = client_context(ca_file, alpn=["http/1.1"]) if ca_file else None
    interceptors = client_interceptors(telemetry)
    sources: list[ChangeSource] = [
        ConnectChanges(settings.master_data_http_url, token, http_tls, interceptors)
    ]
    if settings.use_grpc:
        grpc_tls = client_context(ca_file, alpn=["h2"]) if settings.master_data_grpc_tls else None
        channel = grpc_channel(settings, grpc_tls, MAX_MESSAGE_BYTES, interceptors)
        sources.insert(0, GrpcChanges(channel, token))
    preloaded = None
    if settings.preloaded_stores:
        preloaded = items.preloaded = PreloadedItems(
            settings.preloaded_stores,
            repository,
            items.cache,
            ttl=settings.item_cache_ttl_seconds,
            max_stale=settings.max_stale_seconds,
        )
    changed = ChangedItems(items.refetch)
    watch = ItemChangeWatch(
        sources,
        items.cache,
        items.tenants,
        WatchMetrics(registry),
        idle_timeout=settings.watch_idle_timeout_seconds,
        changed=changed,
        preloaded=preloaded,
        tracer=telemetry.tracer if telemetry is not None else None,
    )
    changed.resnapshot_with(watch.snapshot)
    items.fetch_again = changed.add
    return watch
