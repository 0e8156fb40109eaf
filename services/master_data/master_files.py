"""Reading master files (JSON documents and CSV tables) into validated records, a row at a time.

Every problem is reported with where it is (`items[3].unitPrice`, `row 4, unit_price`). A file is
read as a `MasterFile` whose rows can be read again (once to check everything, once to write:
see master_import), so a CSV table of a million rows is never held as records. Every check is
linear in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Final

from pydantic import ValidationError

from .records import Barcode, Item, MasterRecord, ScanLayout, Store, StorePrice, TaxRule, Tenant

# In the order they must be written: a record only refers to kinds before it.
KINDS: Final[dict[str, type[MasterRecord]]] = {
    "tenants": Tenant,
    "stores": Store,
    "taxRules": TaxRule,
    "items": Item,
    "storePrices": StorePrice,
    "barcodes": Barcode,
    "scanLayouts": ScanLayout,
}
CSV_KINDS: Final = {
    "tenants",
    "stores",
    "tax-rules",
    "items",
    "store-prices",
    "barcodes",
    "scan-layouts",
}
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

    def __init__(self, problems: list[Problem], *, checked: int = 0, more: int = 0) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems[:MAX_PROBLEMS]
        self.more = more + max(0, len(problems) - MAX_PROBLEMS)
        self.checked = checked


# One row of a file: where it is, and its record or why it has none.
Row = tuple[str, MasterRecord | list[Problem]]
Opener = Callable[[], IO[bytes]]


@dataclass(frozen=True, slots=True)
class MasterFile:
    """A file whose head is valid: the kinds its rows hold (in KINDS order), the problems of
    its head that still let its rows be read (a JSON section it does not know), and its rows,
    read afresh at each call."""

    kinds: tuple[type[MasterRecord], ...]
    problems: list[Problem]
    rows: Callable[[], Iterator[Row]]


def read_master_file(open_file: Opener, file_format: str, kind: str | None) -> MasterFile:
    """A file in `json` or `csv` format (CSV needs its kind, e.g. `items`)."""
    if file_format == "json":
        with open_file() as stream:
            return read_json(stream.read())
    if file_format == "csv":
        if kind is None:
            raise InvalidMasterFile([Problem("file", "kind", "a CSV file needs its kind")])
        return read_csv(open_file, kind)
    raise InvalidMasterFile([Problem("file", "format", "must be json or csv")])


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


def read_json(data: bytes) -> MasterFile:
    """A JSON document `{"tenants": [...], "stores": [...], "items": [...], ...}` (held whole:
    MAX_REQUEST_BYTES bounds it; its records are made a row at a time)."""
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
    sections = {name: document.get(name, []) for name in KINDS}
    for name, section in sections.items():
        if not isinstance(section, list):
            problems.append(Problem(name, "(section)", "must be a list"))
            sections[name] = []

    def rows() -> Iterator[Row]:
        for name, record_type in KINDS.items():
            for n, raw in enumerate(sections[name]):
                where = f"{name}[{n}]"
                yield where, _validate(record_type, raw, where, {})

    return MasterFile(tuple(KINDS.values()), problems, rows)


def _csv_kind(kind: str) -> str:
    if kind not in CSV_KINDS:
        raise InvalidMasterFile(
            [Problem("file", "kind", f"must be one of {', '.join(sorted(CSV_KINDS))}")]
        )
    head, *rest = kind.split("-")
    return head + "".join(part.title() for part in rest)


def _text(open_file: Opener) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_file(), encoding="utf-8-sig", newline="")


def _header(open_file: Opener) -> list[str]:
    with _text(open_file) as text:
        try:
            return next(csv.reader(text), [])
        except UnicodeDecodeError as error:
            raise InvalidMasterFile(
                [Problem("file", "(encoding)", f"not UTF-8: {error}")]
            ) from None
        except csv.Error as error:
            raise InvalidMasterFile(
                [Problem("row 1", "(header)", f"not valid CSV: {error}")]
            ) from None


def _header_problems(record_type: type[MasterRecord], columns: list[str]) -> list[Problem]:
    known = set(record_type.model_fields)
    problems = [Problem("row 1", c, "unknown column") for c in columns if c not in known]
    first_at: dict[str, int] = {}
    for n, c in enumerate(columns):  # one pass: a header of 100,000 columns costs no more
        if (first := first_at.setdefault(c, n)) != n:
            problems.append(
                Problem("row 1", c, f"column given twice (columns {first + 1} and {n + 1})")
            )
    if len(problems) > MAX_PROBLEMS:
        return problems
    return problems + [
        Problem("row 1", name, "missing column")
        for name, f in record_type.model_fields.items()
        if f.is_required() and name not in first_at
    ]


def read_csv(open_file: Opener, kind: str) -> MasterFile:
    """A CSV table of one kind; the header names the fields in snake_case. The table is read
    from `open_file()` at each reading of its rows, never held whole."""
    record_type = KINDS[_csv_kind(kind)]
    columns = _header(open_file)
    if problems := _header_problems(record_type, columns):
        raise InvalidMasterFile(problems)
    # Pydantic reports fields by alias (camelCase); a CSV user knows them by their column.
    names = {f.alias or n: n for n, f in record_type.model_fields.items()}

    def rows() -> Iterator[Row]:
        with _text(open_file) as text:
            reader = csv.reader(text)
            line_no = 1
            try:
                next(reader)  # the header, checked above
                for line_no, cells in enumerate(filter(None, reader), start=2):  # no blank rows
                    where = f"row {line_no}"
                    yield where, _row_record(record_type, columns, cells, where, names)
            except UnicodeDecodeError as error:
                yield f"row {line_no + 1}", [Problem("file", "(encoding)", f"not UTF-8: {error}")]
            except csv.Error as error:  # e.g. a cell over the csv module's 128 KiB
                where = f"row {line_no + 1}"
                yield where, [Problem(where, "(row)", f"not valid CSV: {error}")]

    return MasterFile((record_type,), [], rows)


def _row_record(
    record_type: type[MasterRecord],
    columns: list[str],
    cells: list[str],
    where: str,
    names: dict[str, str],
) -> MasterRecord | list[Problem]:
    if len(cells) != len(columns):
        message = f"has {len(cells)} cells; the header has {len(columns)}"
        return [Problem(where, "(row)", message)]
    raw = {c: _cell(record_type, c, v) for c, v in zip(columns, cells, strict=True) if v != ""}
    return _validate(record_type, raw, where, names)


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
