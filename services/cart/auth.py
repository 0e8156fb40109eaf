"""Who is calling: the X-API-KEY header to a Terminal, with verified keys cached briefly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from services.common.ttl_cache import TtlLruCache

from .repository import CartRepository
from .terminals import Terminal, secret_matches, split_key

CACHE_SECONDS: Final = 60.0
CACHE_SIZE: Final = 10_000


class TerminalAuthenticator:
    """Checks API keys against the stored hashes; a verified key skips the database for a minute."""

    def __init__(
        self, repository: CartRepository, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._repository = repository
        self._verified: TtlLruCache[str, Terminal] = TtlLruCache(CACHE_SIZE, CACHE_SECONDS, clock)

    async def terminal_for(self, api_key: str | None) -> Terminal | None:
        """The terminal the key belongs to, or None for a missing, malformed or wrong key."""
        if not api_key:
            return None
        cached = self._verified.get(api_key)
        if cached is not None:
            return cached
        parts = split_key(api_key)
        if parts is None:
            return None
        key_id, secret = parts
        found = await self._repository.find_terminal(key_id)
        if found is None or not secret_matches(secret, found[1]):
            return None
        terminal = found[0]
        self._verified.put(api_key, terminal)
        return terminal
