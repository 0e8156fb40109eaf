"""Settings both services read the same way: the log level and the server's TLS files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, model_validator
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
