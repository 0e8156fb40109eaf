"""Importing a master file: check it all in one pass over its rows (their format, an entry named
twice, the references of its rows to each other and to the database), then read it again and
write it in batches inside one transaction, or not at all.

Neither pass holds the file's records: a CSV table of a million rows costs its key digests (for
the duplicate check) and a batch. The check runs on the event loop, a slice of about 2 ms at a
time, so lookups keep being answered while a large file is checked.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Final

from .catalog import ItemCatalog
from .master_files import KINDS, MAX_PROBLEMS, InvalidMasterFile, MasterFile, Problem
from .master_references import References
from .records import Barcode, MasterRecord
from .repository import ChangeRejected

SLICE_SECONDS: Final = 0.002  # of checking, between two turns of the event loop
PROGRESS_EVERY: Final = 100_000  # records


def format_of(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


class _Problems:
    """The first problems found (one past the cap: "and more"), and how many others."""

    def __init__(self, first: list[Problem]) -> None:
        self.kept = first[: MAX_PROBLEMS + 1]
        self.others = len(first) - len(self.kept)

    def add(self, problems: list[Problem]) -> None:
        room = MAX_PROBLEMS + 1 - len(self.kept)
        self.kept += problems[:room]
        self.others += len(problems[room:])

    @property
    def full(self) -> bool:
        return len(self.kept) > MAX_PROBLEMS


def _digest(record: MasterRecord) -> int:
    return hash((type(record).__name__, record.key()))


async def check_master_file(
    catalog: ItemCatalog, file: MasterFile, progress: Callable[[int], None] = lambda _: None
) -> int:
    """How many records the file holds, when it has no problem at all; otherwise
    InvalidMasterFile with its problems of every sort together, in file order. `progress`
    hears the count every PROGRESS_EVERY records."""
    problems = _Problems(file.problems)
    references = References(file.kinds, catalog.has)
    seen: set[int] = set()  # digests of the keys: 8 bytes' worth a row, not the keys themselves
    suspects: set[int] = set()  # digests seen twice: the same key, or (rarely) a collision
    records = 0
    slice_ends = time.perf_counter() + SLICE_SECONDS
    for where, record in file.rows():
        records += 1
        if records % PROGRESS_EVERY == 0:
            progress(records)
        if isinstance(record, list):
            problems.add(record)
        else:
            digest = _digest(record)
            if digest in seen:
                suspects.add(digest)
            seen.add(digest)
            if problems.full:
                references.add(record)  # past the cap: no more lookups in storage
            else:
                problems.add(await references.missing(where, record))
        if time.perf_counter() >= slice_ends:
            await asyncio.sleep(0)
            slice_ends = time.perf_counter() + SLICE_SECONDS
    if suspects:
        problems.add(_duplicates(file, suspects))
    if not records and not problems.kept:
        raise InvalidMasterFile([Problem("file", "(document)", "has no records")])
    if problems.kept:
        ordered = sorted(problems.kept, key=_file_order)
        raise InvalidMasterFile(ordered, checked=records, more=problems.others)
    return records


def _duplicates(file: MasterFile, suspects: set[int]) -> list[Problem]:
    """An entry named twice in one file (which one wins would be an accident): the rows whose
    key digest was seen twice, compared by their keys themselves."""
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    found = []
    for where, record in file.rows():
        if isinstance(record, list) or _digest(record) not in suspects:
            continue
        key = (type(record).__name__, record.key())
        if key in first:
            found.append(Problem(where, "(key)", f"the same entry as {first[key]}"))
        else:
            first[key] = where
    return found


_SECTION_ENTRY = re.compile(r"(\w+)\[(\d+)\]")
_SECTIONS = {name: n for n, name in enumerate(KINDS)}


def _file_order(problem: Problem) -> tuple[int, int]:
    """Where a problem is, in the file's order: `row 12`, `items[3]` (sections in KINDS order),
    the file itself first."""
    where = problem.where
    if where.startswith("row "):
        return 0, int(where.removeprefix("row "))
    if entry := _SECTION_ENTRY.fullmatch(where):
        return 1 + _SECTIONS.get(entry[1], len(_SECTIONS)), int(entry[2])
    return 0, 0


async def import_master_file(
    catalog: ItemCatalog, file: MasterFile, progress: Callable[[str], None] = lambda _: None
) -> int:
    """Check the file (check_master_file) and write its records in one transaction, reading
    the rows again a batch at a time; `progress` hears how far it got, in words. A row that
    no longer reads as it did when checked (the file changed in between) rolls the whole
    import back."""
    count = await check_master_file(catalog, file, lambda n: progress(f"{n:,} records read"))
    progress(f"{_records(count)} checked, writing ...")

    def records() -> Iterator[MasterRecord]:
        for where, record in file.rows():
            if isinstance(record, list):
                raise InvalidMasterFile(
                    [Problem(where, "(row)", "changed since it was checked")], checked=count
                )
            yield record

    try:
        return await catalog.apply(records)
    except ChangeRejected as rejected:  # e.g. an entry before the one it names
        where = next(islice(file.rows(), rejected.index, None))[0]
        raise InvalidMasterFile(
            [await _rejected(catalog, where, rejected)], checked=count
        ) from None


async def _rejected(catalog: ItemCatalog, where: str, rejected: ChangeRejected) -> Problem:
    change = rejected.change
    if isinstance(change, Barcode):
        owner = await catalog.barcode_item(change.tenant_id, change.barcode)
        if owner is not None and owner != change.item_code:
            said = f"barcode {change.barcode} belongs to item {owner}, not {change.item_code}"
            return Problem(where, "barcode", said)
    return Problem(where, "(reference)", "refers to an entry that does not exist (yet)")


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count:,} records"
