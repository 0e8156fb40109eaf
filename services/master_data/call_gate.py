"""One gate in front of every rpc handler, shared by the gRPC server and the Connect endpoint.

It checks the bearer token, refuses new calls while the server drains, counts calls in flight
so shutdown can wait for them, and turns an unexpected exception into INTERNAL with a generic
message (the detail goes to the log, never onto the wire).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError

from services.common.secrets import BearerToken

log = logging.getLogger(__name__)

HandlerFunc = Callable[[Any], Awaitable[None]]


class GuardedService:
    """A grpclib servable whose handlers all pass through a CallGate."""

    def __init__(self, mapping: dict[str, Handler]) -> None:
        self._mapping = mapping

    def __mapping__(self) -> dict[str, Handler]:
        return self._mapping


class CallGate:
    """Admission, accounting and error hygiene for rpc handlers."""

    def __init__(self, token: BearerToken, *, injected_delay_seconds: float = 0.0) -> None:
        self._token = token
        self._delay = injected_delay_seconds  # fault injection for tests; 0 in production
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.draining = False

    def guard(self, service: Any, *, authenticate: bool) -> GuardedService:
        """Wrap every handler of a grpclib servable (anything with `__mapping__`)."""
        mapping: dict[str, Handler] = service.__mapping__()
        return GuardedService(
            {
                path: Handler(
                    self._wrap(path, handler.func, authenticate),
                    handler.cardinality,
                    handler.request_type,
                    handler.reply_type,
                )
                for path, handler in mapping.items()
            }
        )

    def _wrap(self, path: str, func: HandlerFunc, authenticate: bool) -> HandlerFunc:
        async def guarded(stream: Any) -> None:
            if self.draining:
                raise GRPCError(Status.UNAVAILABLE, "server is shutting down")
            if authenticate and not self._token.accepts(stream.metadata.get("authorization")):
                raise GRPCError(Status.UNAUTHENTICATED, "missing or invalid bearer token")
            self._in_flight += 1
            self._idle.clear()
            try:
                if self._delay:
                    await asyncio.sleep(self._delay)
                await func(stream)
            except (GRPCError, TimeoutError):
                raise  # TimeoutError is how grpclib learns a deadline expired
            except (NotImplementedError, AssertionError) as error:
                # grpclib's reading of a bad frame (compressed flag, short length prefix): the
                # client's fault, INTERNAL per the gRPC spec, and no stack trace per attempt.
                log.warning("malformed gRPC message frame on %s: %r", path, error)
                raise GRPCError(Status.INTERNAL, "malformed message frame") from None
            except Exception:
                log.exception("unexpected error in %s", path)
                raise GRPCError(Status.INTERNAL, "internal error") from None
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

        return guarded

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def drain(self, grace_seconds: float) -> bool:
        """Refuse new calls and wait up to grace_seconds for those in flight; True if all ended."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            return False
        return True
