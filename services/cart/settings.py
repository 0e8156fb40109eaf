"""cart's configuration, read from the environment once at start."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.codes import RULE, is_code
from services.common.logging import LogFormat
from services.common.settings_fields import HttpLimitSettings, LogLevel, ServerTlsSettings
from services.rpc.grpc_target import parse_target


class CartSettings(ServerTlsSettings, HttpLimitSettings):
    """Every environment variable the cart reads, with its default (docs/operations.md)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    use_grpc: bool = False
    grpc_timeout: float = Field(default=5.0, gt=0, le=300)
    # host:port or dns:///host:port (every address it resolves to), or ipv4:addr:port,...
    master_data_grpc_url: str = "localhost:50051"
    master_data_resolve_seconds: float = Field(default=30.0, gt=0)  # resolve the name again
    master_data_max_addresses: int = Field(default=16, ge=1, le=1024)  # connections at most
    master_data_http_url: str = "http://localhost:8002"
    master_data_token: SecretStr | None = None
    master_data_http_pool_size: int = Field(default=2, ge=1, le=256)
    grpc_breaker_cooldown_seconds: float = Field(default=5.0, gt=0)
    use_item_cache: bool = True
    item_cache_ttl_seconds: float = Field(default=600.0, gt=0)  # changes are pushed to the cache
    watch_item_changes: bool = True  # keep the item cache fresh with WatchItemChanges
    watch_idle_timeout_seconds: float = Field(default=45.0, gt=0)  # silent this long: reconnect
    item_cache_size: int = Field(default=50_000, ge=1)
    item_not_found_ttl_seconds: float = Field(default=5.0, gt=0)
    max_stale_seconds: float = Field(default=86_400.0, ge=0)  # last known copies sell this long
    idempotency_key_ttl_seconds: float = Field(default=86_400.0, gt=0)  # a key's lifetime
    preload_stores: str = ""  # TENANT/STORE,...: every item kept in the cart (docs/outages.md)
    http_port: int = Field(default=8003, ge=0, le=65535)
    bind_host: str = "127.0.0.1"
    cart_db: str = "data/cart.db"  # a SQLite file or a postgresql:// URL
    db_pool_size: int = Field(default=10, ge=1, le=200)  # PostgreSQL connections per process
    workers: int = Field(default=1, ge=1, le=32)  # processes sharing the port (SO_REUSEPORT)
    reuse_port: bool = False  # set by cart for its own workers
    cart_cache_size: int = Field(default=2_000, ge=0)  # carts kept in process between requests
    cart_cache_bytes: int = Field(default=16 << 20, ge=0)  # ... and their JSON bytes, at most
    max_open_carts: int = Field(default=20, ge=0)  # per terminal (409 beyond); 0: no limit
    max_request_bytes: int = Field(default=65_536, ge=1024)
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    master_data_grpc_tls: bool = False  # gRPC to master-data over TLS
    master_data_ca_file: Path | None = None  # CA that signed master-data's certificate
    terminal_rate_limit: float = Field(default=50.0, ge=0)  # requests/s per terminal; 0: off
    terminal_rate_burst: int = Field(default=100, ge=1)
    business_timezone: str = "UTC"  # IANA zone of a transaction's businessDate, e.g. Asia/Tokyo

    @field_validator("business_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Tokyo)") from None
        return value

    @field_validator("master_data_grpc_url")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        parse_target(value)
        return value

    @field_validator("preload_stores")
    @classmethod
    def _stores(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            tenant, _, store = entry.partition("/")
            if not (is_code(tenant) and is_code(store)):
                raise ValueError(f"{entry!r} is not TENANT/STORE (each code {RULE})")
        return value

    @property
    def preloaded_stores(self) -> list[tuple[str, str]]:
        entries = filter(None, (e.strip() for e in self.preload_stores.split(",")))
        return list(dict.fromkeys(tuple(e.split("/", 1)) for e in entries))  # type: ignore[misc]

    @field_validator("master_data_http_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"  # json: one JSON object a line
