"""One gate in front of every rpc handler, shared by the gRPC server and the Connect server.

It checks the bearer token, refuses new calls while the server drains, counts calls in flight
so shutdown can wait for them, answers UNAVAILABLE when the service's storage cannot be reached
(the caller may retry elsewhere), and turns an unexpected exception into INTERNAL with a generic
message (the stack trace goes to the log, never onto the wire). A malformed request frame is
named where it is read (`services.wire.grpc.MalformedFrame`) and logged here in one line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from services.common.secrets import REJECTED, BearerToken
from services.common.storage_errors import StorageUnavailable
from services.wire.grpc import MalformedFrame

from .call import current_call
from .servable import HandlerFunc, HandlerTable, wrap_handlers

log = logging.getLogger(__name__)


class CallGate:
    """Admission, accounting and error hygiene for rpc handlers."""

    def __init__(
        self,
        token: BearerToken,
        *,
        storage_name: str = "storage",
        injected_delay_seconds: float = 0.0,
    ) -> None:
        self._token = token
        self._unavailable = f"the {storage_name} is unavailable"  # what callers are told
        self._delay = injected_delay_seconds  # fault injection for tests; 0 in production
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.draining = False

    def guard(self, service: Any, *, authenticate: bool) -> HandlerTable:
        """Wrap every handler of a grpclib servable (anything with `__mapping__`)."""
        return wrap_handlers(service, lambda path, func: self._wrap(path, func, authenticate))

    def _wrap(self, path: str, func: HandlerFunc, authenticate: bool) -> HandlerFunc:
        async def guarded(stream: Any) -> None:
            if self.draining:
                raise GRPCError(Status.UNAVAILABLE, "server is shutting down")
            if authenticate:
                scope = self._token.scope_of(stream.metadata.get("authorization"))
                if scope is REJECTED:
                    raise GRPCError(Status.UNAUTHENTICATED, "missing or invalid bearer token")
                current_call().tenants = scope  # type: ignore[assignment] # not REJECTED
            self._in_flight += 1
            self._idle.clear()
            try:
                if self._delay:
                    await asyncio.sleep(self._delay)
                await func(stream)
            except MalformedFrame as error:
                log.warning("malformed gRPC message frame on %s: %s", path, error.reason)
                raise
            except (GRPCError, TimeoutError):
                raise  # TimeoutError is how grpclib learns a deadline expired
            except StorageUnavailable as outage:
                log.warning("%s in %s: %s", self._unavailable, path, outage)
                raise GRPCError(Status.UNAVAILABLE, self._unavailable) from None
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
