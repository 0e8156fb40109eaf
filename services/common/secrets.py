"""Bearer-token checks in constant time, so response timing leaks nothing about the secret."""

from __future__ import annotations

import hmac

from pydantic import SecretStr


class BearerToken:
    """Accepts `authorization: Bearer <token>` when it carries the configured token.

    With no token configured every caller is accepted: the check is off.
    """

    def __init__(self, token: SecretStr | None) -> None:
        self._expected = None if token is None else f"Bearer {token.get_secret_value()}".encode()

    @property
    def required(self) -> bool:
        return self._expected is not None

    def accepts(self, authorization: str | None) -> bool:
        if self._expected is None:
            return True
        if authorization is None:
            return False
        return hmac.compare_digest(authorization.encode(), self._expected)
