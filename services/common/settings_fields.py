"""Settings both services read the same way: log level, server TLS files, connection limits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings

LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(lambda v: str(v).upper())
]


class ServerTlsSettings(BaseSettings):
    """TLS_CERT_FILE and TLS_KEY_FILE: both set, the service's servers speak TLS only."""

    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @model_validator(mode="after")
    def _tls_needs_both_files(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS_CERT_FILE and TLS_KEY_FILE go together")
        return self


class HttpLimitSettings(BaseSettings):
    """What one client may cost an HTTP port, checked before any authentication."""

    max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)  # the request head
    request_read_timeout_seconds: float = Field(default=10.0, gt=0)  # to send a whole request
    http_idle_timeout_seconds: float = Field(default=5.0, gt=0)  # keep-alive between requests
    max_connections: int = Field(default=4096, ge=1)  # open at once, per port and process
