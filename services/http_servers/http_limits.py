"""What one client may cost an HTTP port, for both servers the services embed."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings_fields import HttpLimitSettings


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one client may cost an HTTP port (docs/operations.md: configuration)."""

    max_header_bytes: int = 16_384
    request_read_timeout_seconds: float = 10.0
    max_connections: int = 4096

    @classmethod
    def from_settings(cls, settings: HttpLimitSettings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            request_read_timeout_seconds=settings.request_read_timeout_seconds,
            max_connections=settings.max_connections,
        )
