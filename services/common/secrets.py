"""Bearer-token checks in constant time, so response timing leaks nothing about the secret."""

from __future__ import annotations

import hmac
from typing import Final

from pydantic import SecretStr

Scope = frozenset[str] | None  # the tenants a token may ask about; None: every tenant


class Rejected:
    """No token, or not one of ours."""


REJECTED: Final = Rejected()


class BearerToken:
    """Accepts `authorization: Bearer <token>` when it carries a configured token: the one
    token (every tenant), or one of the `scoped` tokens, each with its tenants.

    With no token configured every caller is accepted: the check is off. Every configured
    token is compared, in constant time, whatever the answer.
    """

    def __init__(self, token: SecretStr | None, scoped: dict[str, Scope] | None = None) -> None:
        self._tokens: list[tuple[bytes, Scope]] = [
            (f"Bearer {secret}".encode(), scope) for secret, scope in (scoped or {}).items()
        ]
        if token is not None:
            self._tokens.insert(0, (f"Bearer {token.get_secret_value()}".encode(), None))

    @property
    def required(self) -> bool:
        return bool(self._tokens)

    def accepts(self, authorization: str | None) -> bool:
        return self.scope_of(authorization) is not REJECTED

    def scope_of(self, authorization: str | None) -> Scope | Rejected:
        """The tenants the caller may ask about, or REJECTED."""
        if not self._tokens:
            return None
        if authorization is None:
            return REJECTED
        offered = authorization.encode()
        found: Scope | Rejected = REJECTED
        for expected, scope in self._tokens:
            if hmac.compare_digest(offered, expected) and found is REJECTED:
                found = scope
        return found


def scoped_tokens(value: str) -> dict[str, Scope]:
    """`TOKEN=T0001,T0002;OTHER=*` as {token: tenants}; ValueError for a malformed entry."""
    tokens: dict[str, Scope] = {}
    for entry in filter(None, (part.strip() for part in value.split(";"))):
        token, equals, tenants = entry.partition("=")
        names = [t.strip() for t in tenants.split(",") if t.strip()]
        if not equals or not token.strip() or not names:
            raise ValueError("each entry is TOKEN=TENANT,TENANT (or TOKEN=*), ; between entries")
        tokens[token.strip()] = None if names == ["*"] else frozenset(names)
    return tokens
