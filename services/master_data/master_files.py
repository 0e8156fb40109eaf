"""Reading master files (JSON documents and CSV tables) into validated records.

Every problem is reported with where it is (`items[3].unitPrice`, `row 4, unit_price`), all of
them at once (with the references master_references finds, in one pass: see master_import),
and nothing is written unless the whole file is valid. Every check is linear in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from .records import Item, MasterRecord, Store, StorePrice, TaxRule, Tenant

# In the order they must be written: a record only refers to kinds before it.
KINDS: Final[dict[str, type[MasterRecord]]] = {
    "tenants": Tenant,
    "stores": Store,
    "taxRules": TaxRule,
    "items": Item,
    "storePrices": StorePrice,
}
CSV_KINDS: Final = {"tenants", "stores", "tax-rules", "items", "store-prices"}
MAX_PROBLEMS: Final = 100


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a file is refused: where, which field, what is wrong."""

    where: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}"


class InvalidMasterFile(Exception):
    """The file cannot be imported; `problems` says the first MAX_PROBLEMS reasons found,
    `more` how many others there were, `checked` how many records were read."""

    def __init__(self, problems: list[Problem], *, checked: int = 0) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems[:MAX_PROBLEMS]
        self.more = max(0, len(problems) - MAX_PROBLEMS)
        self.checked = checked


@dataclass(frozen=True, slots=True)
class Parsed:
    """A file read whole: its valid entries, the problems of the others, the records read."""

    entries: list[Entry]
    problems: list[Problem]
    records: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A valid record and where it came from."""

    where: str
    record: MasterRecord


def _csv_kind(kind: str) -> str:
    if kind not in CSV_KINDS:
        raise InvalidMasterFile(
            [Problem("file", "kind", f"must be one of {', '.join(sorted(CSV_KINDS))}")]
        )
    head, *rest = kind.split("-")
    return head + "".join(part.title() for part in rest)


def _validate(
    record_type: type[MasterRecord], raw: Any, where: str, field_names: dict[str, str]
) -> MasterRecord | list[Problem]:
    try:
        return record_type.model_validate(raw)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            loc = ".".join(str(p) for p in detail["loc"]) or "(record)"
            problems.append(Problem(where, field_names.get(loc, loc), detail["msg"]))
        return problems


def _collect(
    rows: Iterator[tuple[str, Any]], record_type: type[MasterRecord], names: dict[str, str]
) -> tuple[list[Entry], list[Problem]]:
    entries: list[Entry] = []
    problems: list[Problem] = []
    for where, raw in rows:
        result = _validate(record_type, raw, where, names)
        if isinstance(result, list):
            problems.extend(result)
        else:
            entries.append(Entry(where, result))
    return entries, problems


class _DuplicateMember(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):  # a set's work, not a count per member: linear
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _DuplicateMember(name)
            seen.add(name)
    return members


def parse_json(data: bytes) -> Parsed:
    """Records of a JSON document `{"tenants": [...], "stores": [...], "items": [...], ...}`."""
    try:
        document = json.loads(data, object_pairs_hook=_unique_members)
    except _DuplicateMember as twice:
        raise InvalidMasterFile(
            [Problem("file", str(twice), "member given twice in one object")]
        ) from None
    except (ValueError, RecursionError) as error:
        raise InvalidMasterFile(
            [Problem("file", "(document)", f"not valid JSON: {error}")]
        ) from None
    if not isinstance(document, dict):
        raise InvalidMasterFile([Problem("file", "(document)", "must be a JSON object")])
    unknown = set(document) - set(KINDS)
    problems = [
        Problem("file", key, f"unknown section; use {', '.join(KINDS)}") for key in sorted(unknown)
    ]
    entries: list[Entry] = []
    records = 0
    for section, record_type in KINDS.items():
        rows = document.get(section, [])
        if not isinstance(rows, list):
            problems.append(Problem(section, "(section)", "must be a list"))
            continue
        records += len(rows)
        found, bad = _collect(
            ((f"{section}[{i}]", row) for i, row in enumerate(rows)), record_type, {}
        )
        entries.extend(found)
        problems.extend(bad)
    return _checked(entries, problems, records)


def parse_csv(data: bytes, kind: str) -> Parsed:
    """Records of a CSV table of one kind; the header names the fields in snake_case."""
    record_type = KINDS[_csv_kind(kind)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidMasterFile([Problem("file", "(encoding)", f"not UTF-8: {error}")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = list(reader.fieldnames or [])
    except csv.Error as error:
        raise InvalidMasterFile([Problem("row 1", "(header)", f"not valid CSV: {error}")]) from None
    known = set(record_type.model_fields)
    problems = [Problem("row 1", c, "unknown column") for c in columns if c not in known]
    first_at: dict[str, int] = {}
    for n, c in enumerate(columns):  # one pass: a header of 100,000 columns costs no more
        if (first := first_at.setdefault(c, n)) != n:
            problems.append(
                Problem("row 1", c, f"column given twice (columns {first + 1} and {n + 1})")
            )
    if len(problems) > MAX_PROBLEMS:
        raise InvalidMasterFile(problems)
    missing = [
        name
        for name, f in record_type.model_fields.items()
        if f.is_required() and name not in columns
    ]
    problems += [Problem("row 1", name, "missing column") for name in missing]
    if problems:
        raise InvalidMasterFile(problems)
    # Pydantic reports fields by alias (camelCase); a CSV user knows them by their column.
    names = {f.alias or n: n for n, f in record_type.model_fields.items()}

    shape_problems: list[Problem] = []
    records = 0

    def rows() -> Iterator[tuple[str, Any]]:
        nonlocal records
        numbered = enumerate(reader, start=2)
        while True:
            try:
                line_no, row = next(numbered)
            except StopIteration:
                return
            except csv.Error as error:  # e.g. a cell over the csv module's 128 KiB
                where = f"row {records + 2}"
                shape_problems.append(Problem(where, "(row)", f"not valid CSV: {error}"))
                return
            records += 1
            extra = row.pop(None, None) or []  # DictReader's cells past the header
            given = [v for v in row.values() if v is not None]  # None: a cell missing
            if extra or len(given) < len(columns):
                cells = len(given) + len(extra)
                shape_problems.append(
                    Problem(
                        f"row {line_no}",
                        "(row)",
                        f"has {cells} cells; the header has {len(columns)}",
                    )
                )
                continue
            yield f"row {line_no}", {k: _cell(record_type, k, v) for k, v in row.items() if v != ""}

    entries, bad = _collect(rows(), record_type, names)
    return _checked(entries, sorted(bad + shape_problems, key=_row_order), records)


def _row_order(problem: Problem) -> int:
    return int(problem.where.removeprefix("row "))


_DIGITS = re.compile(r"[0-9]{1,19}")  # longer is past any field's range (and Python's int limit)
_BOOLEANS: Final = {"true": True, "false": False, "1": True, "0": False}


def _cell(record_type: type[MasterRecord], column: str, text: str) -> Any:
    """A CSV cell as its field's type: an integer only from plain ASCII digits (no sign, no
    `_`, no spaces, no `.0`), a boolean from true/false/1/0; anything else stays text and
    fails validation, naming the column."""
    annotation = record_type.model_fields[column].annotation
    if annotation is int and _DIGITS.fullmatch(text):
        return int(text)
    if annotation is bool:
        return _BOOLEANS.get(text.lower(), text)
    return text


def _duplicates(entries: list[Entry]) -> list[Problem]:
    """An entry named twice in one file: which one wins would be an accident."""
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    problems = []
    for entry in entries:
        key = (type(entry.record).__name__, entry.record.key())
        if key in first:
            problems.append(Problem(entry.where, "(key)", f"the same entry as {first[key]}"))
        else:
            first[key] = entry.where
    return problems


def _checked(entries: list[Entry], problems: list[Problem], records: int) -> Parsed:
    problems = problems + _duplicates(entries)
    if not records and not problems:
        raise InvalidMasterFile([Problem("file", "(document)", "has no records")])
    return Parsed(entries, problems, records)
