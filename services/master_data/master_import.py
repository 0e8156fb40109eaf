"""Importing a master file: read it whole and check everything in one pass (its format, the
references of its rows to each other and to the database), then write it in one transaction
or not at all."""

from __future__ import annotations

import re
from pathlib import Path

from .catalog import ItemCatalog
from .master_files import (
    KINDS,
    MAX_PROBLEMS,
    Entry,
    InvalidMasterFile,
    Parsed,
    Problem,
    parse_csv,
    parse_json,
)
from .master_references import missing_references
from .repository import ChangeRejected


def parse_master_file(data: bytes, file_format: str, kind: str | None) -> Parsed:
    """Entries of a file in `json` or `csv` format (CSV needs its kind, e.g. `items`)."""
    if file_format == "json":
        return parse_json(data)
    if file_format == "csv":
        if kind is None:
            raise InvalidMasterFile([Problem("file", "kind", "a CSV file needs its kind")])
        return parse_csv(data, kind)
    raise InvalidMasterFile([Problem("file", "format", "must be json or csv")])


def format_of(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


async def checked_entries(catalog: ItemCatalog, parsed: Parsed) -> list[Entry]:
    """The entries of a file that has no problem at all; otherwise InvalidMasterFile with its
    format problems and its broken references together, in file order."""
    limit = MAX_PROBLEMS + 1 - len(parsed.problems)  # one past the cap: "and more"
    references = await missing_references(parsed.entries, catalog.has, max(1, limit))
    problems = parsed.problems + references
    if problems:
        raise InvalidMasterFile(sorted(problems, key=_file_order), checked=parsed.records)
    return parsed.entries


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


async def import_entries(catalog: ItemCatalog, entries: list[Entry]) -> int:
    """Write all entries in one transaction (checked_entries first: this is the last word)."""
    try:
        await catalog.apply([entry.record for entry in entries])
    except ChangeRejected as rejected:  # e.g. an entry before the one it names
        where = entries[rejected.index].where
        problem = Problem(where, "(reference)", "refers to an entry that does not exist (yet)")
        raise InvalidMasterFile([problem], checked=len(entries)) from None
    return len(entries)
