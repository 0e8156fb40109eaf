"""What a write changes for lookups: the entries of the change log that WatchItemChanges streams.

Every admin write and import records, in its own transaction, one entry per tenant and store it
touched, naming the items whose answer may have changed: an item or a store price names that
item; a tax rule, a tenant (its currency) or a store names all items (of the tenant, or of the
store), and so does a barcode or an in-store layout (a scan that found nothing may now find an
item: a client keeps what scans found by the scan, not by the item). The log keeps the last KEEP
entries (docs/push-coherence.md); a client whose position is older gets a reset and drops its
whole cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from opentelemetry import propagate

from .records import Barcode, Item, MasterRecord, ScanLayout, Store, StorePrice, TaxRule, Tenant

KEEP: Final = 10_000  # entries kept: the resume window
MAX_CODES: Final = 1_000  # more items in one entry are sent as "all items"


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """One entry: `store_code` empty for every store; `item_codes` empty with `all_items`."""

    tenant_id: str
    store_code: str
    item_codes: tuple[str, ...]
    all_items: bool


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """An entry as the log keeps it, with its sequence and commit time."""

    sequence: int
    entry: ChangeEntry
    committed_at_us: int
    trace_parent: str = ""  # the W3C traceparent of the write, when it was traced


def current_trace_parent() -> str:
    """The traceparent of the span current now ('' outside one: a write not traced), kept with
    the write's changes so a client can link their application to it."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def _scope(kind: type[MasterRecord], key: tuple[str, ...]) -> tuple[str, str, str | None]:
    """(tenant, store or '', item code or None for all items) of one change."""
    if kind is Item:
        return key[0], "", key[1]
    if kind in (Barcode, ScanLayout):  # a scan may now find another item, or none
        return key[0], "", None
    if kind is StorePrice:
        return key[0], key[1], key[2]
    if kind is Store:
        return key[0], key[1], None
    if kind in (TaxRule, Tenant):
        return key[0], "", None
    raise TypeError(f"no change scope for {kind.__name__}")


Target = tuple[type[MasterRecord], tuple[str, ...]]  # what a change writes or deletes: kind, key


class WriteScopes:
    """The log entries of one write, one per tenant and store, in first-touched order, gathered
    as its changes are written (an import's rows are never all in hand at once)."""

    def __init__(self) -> None:
        self._codes: dict[tuple[str, str], dict[str, None] | None] = {}  # None: all items

    def add(self, target: Target) -> None:
        tenant, store, item = _scope(*target)
        scope = (tenant, store)
        named = self._codes.setdefault(scope, {})
        if named is None:
            return
        if item is None or len(named) >= MAX_CODES:
            self._codes[scope] = None
        else:
            named[item] = None

    def entries(self) -> list[ChangeEntry]:
        return [
            ChangeEntry(tenant, store, tuple(named or ()), named is None)
            for (tenant, store), named in self._codes.items()
        ]
