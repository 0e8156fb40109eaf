"""master-data's configuration, read from the environment once at start."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.logging import LogFormat
from services.common.secrets import scoped_tokens
from services.common.settings_fields import HttpLimitSettings, LogLevel, ServerTlsSettings
from services.rpc.cors import parse_origins


class MasterDataSettings(ServerTlsSettings, HttpLimitSettings):
    """Every environment variable master-data reads, with its default (docs/operations.md)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    use_grpc: bool = False
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    http_port: int = Field(default=8002, ge=0, le=65535)
    bind_host: str = "127.0.0.1"
    master_data_db: str = "data/master_data.db"  # a SQLite file or a postgresql:// URL
    db_pool_size: int = Field(default=10, ge=1, le=200)  # PostgreSQL connections per process
    master_data_token: SecretStr | None = None  # every tenant
    # TOKEN=TENANT,TENANT;TOKEN2=*: more tokens, each for its tenants (PERMISSION_DENIED else)
    master_data_tokens: SecretStr | None = None

    @field_validator("master_data_tokens")
    @classmethod
    def _scoped(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scoped_tokens(value.get_secret_value())
        return value

    admin_token: SecretStr | None = None
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    catalog_cache_size: int = Field(default=100_000, ge=0)
    catalog_poll_seconds: float = Field(default=1.0, gt=0)  # PostgreSQL: LISTEN liveness check
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    watch_heartbeat_seconds: float = Field(default=15.0, gt=0)  # WatchItemChanges when idle
    watch_send_timeout_seconds: float = Field(default=10.0, gt=0)  # then RESOURCE_EXHAUSTED
    max_watches_per_connection: int = Field(default=100, ge=1)
    max_watches_per_token: int = Field(default=1_000, ge=1)
    # Fault injection for tests: every rpc waits this long before it runs. Keep 0 in production.
    debug_rpc_delay_ms: int = Field(default=0, ge=0, le=60_000)
    http_server: Literal["uvicorn", "hypercorn"] = "uvicorn"  # hypercorn: HTTP/2 as well
    grpc_idle_timeout_seconds: float = Field(default=300.0, gt=0)  # no call open, nothing sent
    # A gRPC connection this old (+-10 %) gets a GOAWAY: clients reconnect, re-resolve and
    # spread over replicas added since; its calls then have the grace to finish. 0: never.
    max_connection_age_seconds: float = Field(default=0.0, ge=0)
    max_connection_age_grace_seconds: float = Field(default=30.0, ge=0)
    workers: int = Field(default=1, ge=1, le=32)
    reuse_port: bool = False  # set for the workers of a WORKERS > 1 master-data
    # Browser pages of these origins may call the HTTP port (Connect, gRPC-Web); empty: none
    cors_allowed_origins: str = ""
    cors_admin_api: bool = False  # the admin API answers those origins too (not only the RPCs)
    cors_allow_credentials: bool = False  # cookies with calls: bearer tokens need none

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)
        return value

    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"  # json: one JSON object a line
