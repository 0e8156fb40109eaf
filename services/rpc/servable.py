"""A grpclib servable as this layer handles it: a table of handlers by path, and wrapping each
handler function (what the call gate and the interceptors of a service do)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from grpclib.const import Handler

HandlerFunc = Callable[[Any], Awaitable[None]]


class HandlerTable:
    """A grpclib servable made of a ready handler table (what `__mapping__` returns)."""

    def __init__(self, mapping: dict[str, Handler]) -> None:
        self._mapping = mapping

    def __mapping__(self) -> dict[str, Handler]:
        return self._mapping


def wrap_handlers(servable: Any, wrap: Callable[[str, HandlerFunc], HandlerFunc]) -> HandlerTable:
    """The servable's handlers, each function passed through `wrap(path, func)`."""
    return HandlerTable(
        {
            path: Handler(wrap(path, h.func), h.cardinality, h.request_type, h.reply_type)
            for path, h in servable.__mapping__().items()
        }
    )
