"""Builds the cart's link to master-data the settings describe: the item client and the change
watch that keeps its cache fresh, each part given what it needs when it is made."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

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
from .item_master.item_cache import CacheKey, ItemCache
from .item_master.metrics import LookupMetrics
from .item_master.outage import Outage
from .item_master.preload import PreloadedItems
from .item_master.refetch_queue import RefetchQueue
from .item_master.transport import MAX_REPLY_BYTES
from .repository import CartRepository
from .settings import CartSettings


def client_interceptors(telemetry: Telemetry | None) -> list[ClientInterceptor]:
    """What every call to master-data passes through: a span per call when tracing is on."""
    if telemetry is None:
        return []
    return [ClientTracing(telemetry.tracer, telemetry.meter)]


@dataclass(frozen=True)
class MasterDataAccess:
    """How this cart reaches master-data, made once: its token, TLS for each transport (h2 for
    gRPC, HTTP/1.1 for Connect), what every call passes through."""

    token: str | None
    grpc_tls: ssl.SSLContext | None
    http_tls: ssl.SSLContext | None
    interceptors: list[ClientInterceptor]

    @classmethod
    def of(cls, settings: CartSettings, telemetry: Telemetry | None) -> MasterDataAccess:
        secret = settings.master_data_token
        ca_file = settings.master_data_ca_file
        return cls(
            token=secret.get_secret_value() if secret else None,
            grpc_tls=client_context(ca_file, alpn=["h2"])
            if settings.master_data_grpc_tls
            else None,
            http_tls=client_context(ca_file, alpn=["http/1.1"]) if ca_file else None,
            interceptors=client_interceptors(telemetry),
        )

    def grpc_channel(self, settings: CartSettings, max_message_bytes: int) -> BalancedChannel:
        """A channel over every address MASTER_DATA_GRPC_URL names (resolved again every
        MASTER_DATA_RESOLVE_SECONDS); TLS checks each against the name, not its address."""
        target = parse_target(settings.master_data_grpc_url)
        tls, interceptors = self.grpc_tls, self.interceptors
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


def _cache(settings: CartSettings) -> ItemCache | None:
    if not settings.use_item_cache:
        return None
    return ItemCache(
        ttl=settings.item_cache_ttl_seconds,
        not_found_ttl=settings.item_not_found_ttl_seconds,
        max_size=settings.item_cache_size,
        max_stale=settings.max_stale_seconds,
    )


def build_item_master_client(
    settings: CartSettings,
    registry: CollectorRegistry,
    telemetry: Telemetry | None = None,
    *,
    access: MasterDataAccess | None = None,
    cache: ItemCache | None = None,
    preloaded: PreloadedItems | None = None,
    fetch_again: Callable[[list[CacheKey]], None] | None = None,
) -> ItemMasterClient:
    """One client per process: its channel and session are shared by every request and tenant.
    Alone (no watch) it makes its own access and cache."""
    access = access or MasterDataAccess.of(settings, telemetry)
    cache = cache if cache is not None else _cache(settings)
    grpc = None
    if settings.use_grpc:
        grpc = GrpcTransport(access.grpc_channel(settings, MAX_REPLY_BYTES), access.token)
    return ItemMasterClient(
        grpc=grpc,
        http=ConnectTransport(
            settings.master_data_http_url,
            access.token,
            settings.master_data_http_pool_size,
            tls=access.http_tls,
            interceptors=access.interceptors,
        ),
        timeout_seconds=settings.grpc_timeout,
        breaker=CircuitBreaker(settings.grpc_breaker_cooldown_seconds),
        cache=cache,
        metrics=LookupMetrics(registry),
        outage=None if cache is None else Outage(settings.grpc_breaker_cooldown_seconds, registry),
        tracer=telemetry.tracer if telemetry is not None else None,
        preloaded=preloaded,
        fetch_again=fetch_again,
    )


def build_item_master(
    settings: CartSettings,
    registry: CollectorRegistry,
    repository: CartRepository,
    telemetry: Telemetry | None = None,
) -> tuple[ItemMasterClient, ItemChangeWatch | None]:
    """The item client and the watch that keeps its cache fresh (None without a cache or with
    WATCH_ITEM_CHANGES off). The watch runs over gRPC first when USE_GRPC is on (Connect as
    the fallback), else over Connect. Client, refetch queue and watch name each other: each is
    given the others' calls when made (closures over the names bound below)."""
    access = MasterDataAccess.of(settings, telemetry)
    cache = _cache(settings)
    if cache is None or not settings.watch_item_changes:
        return build_item_master_client(settings, registry, telemetry, access=access), None
    preloaded = None
    if settings.preloaded_stores:
        preloaded = PreloadedItems(
            settings.preloaded_stores,
            repository,
            cache,
            ttl=settings.item_cache_ttl_seconds,
            max_stale=settings.max_stale_seconds,
        )
    changed = RefetchQueue(
        lambda tenant, store, codes: client.refetch(tenant, store, codes),  # noqa: PLW0108 - made below
        lambda tenant, store: watch.snapshot(tenant, store),  # noqa: PLW0108 - made below
    )
    client = build_item_master_client(settings, registry, telemetry, access=access, cache=cache,
                                      preloaded=preloaded, fetch_again=changed.add)  # fmt: skip
    sources: list[ChangeSource] = [
        ConnectChanges(settings.master_data_http_url, access.token, access.http_tls,
                       access.interceptors)
    ]  # fmt: skip
    if settings.use_grpc:
        channel = access.grpc_channel(settings, MAX_MESSAGE_BYTES)
        sources.insert(0, GrpcChanges(channel, access.token))
    watch = ItemChangeWatch(
        sources,
        cache,
        client.tenants,
        WatchMetrics(registry),
        idle_timeout=settings.watch_idle_timeout_seconds,
        changed=changed,
        preloaded=preloaded,
        tracer=telemetry.tracer if telemetry is not None else None,
    )
    return client, watch
