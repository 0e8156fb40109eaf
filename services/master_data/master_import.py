"""Importing a master file: parse it whole, then write it in one transaction or not at all."""

from __future__ import annotations

from pathlib import Path

from .catalog import ItemCatalog
from .master_files import MAX_PROBLEMS, Entry, InvalidMasterFile, Problem, parse_csv, parse_json
from .master_references import missing_references
from .repository import ChangeRejected


def parse_master_file(data: bytes, file_format: str, kind: str | None) -> list[Entry]:
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


async def import_entries(catalog: ItemCatalog, entries: list[Entry]) -> int:
    """Write all entries in one transaction; the broken references are named with their rows."""
    try:
        await catalog.apply([entry.record for entry in entries])
    except ChangeRejected as rejected:
        problems = await missing_references(entries, catalog.has, MAX_PROBLEMS)
        if not problems:  # e.g. an entry before the one it names: the database's own verdict
            where = entries[rejected.index].where
            problems = [
                Problem(where, "(reference)", "refers to an entry that does not exist (yet)")
            ]
        raise InvalidMasterFile(problems) from None
    return len(entries)
