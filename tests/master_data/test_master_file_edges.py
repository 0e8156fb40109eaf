"""Master files a stranger with the admin token could send: every check linear (a header of
131,072 columns, a JSON object of 85,000 members answered at once: they took 114 s and 98 s),
a cell of 900 KB of digits, a name with a control character: each a problem with its row,
never an exception."""

from __future__ import annotations

import io
import json
import time

import pytest

from services.master_data.master_files import InvalidMasterFile, Problem, read_csv, read_json


def problems_of(data: bytes, kind: str | None = None) -> list[Problem]:
    """Every problem of every row of a file whose head is valid."""
    file = read_csv(lambda: io.BytesIO(data), kind) if kind else read_json(data)
    found = list(file.problems)
    for _, record in file.rows():
        if isinstance(record, list):
            found += record
    return found


HEADER = "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"


def test_a_header_of_131072_distinct_columns_is_refused_at_once() -> None:
    header = ",".join(f"c{n}" for n in range(131_072)) + "\n"
    started = time.monotonic()
    with pytest.raises(InvalidMasterFile) as refused:
        read_csv(lambda: io.BytesIO(header.encode()), "items")
    assert time.monotonic() - started < 5  # was 114 s: a guard against quadratic work only
    assert len(refused.value.problems) == 100
    assert refused.value.more > 0


def test_a_json_object_of_85000_members_is_read_at_once() -> None:
    document = "{" + ",".join(f'"m{n}": 1' for n in range(85_000)) + "}"
    started = time.monotonic()
    problems = problems_of(document.encode())
    assert time.monotonic() - started < 5  # was 98 s
    assert len(problems) == 85_000  # unknown sections: capped where they are shown


def test_a_member_given_twice_is_still_named() -> None:
    with pytest.raises(InvalidMasterFile) as refused:
        read_json(b'{"tenants": [], "tenants": []}')
    assert "member given twice" in str(refused.value.problems[0])


@pytest.mark.parametrize(
    ("row", "field"),
    [
        pytest.param("T0001,BIG,Big," + "9" * 900_000 + ",TX10,FOOD", "(row)", id="900 KB cell"),
        pytest.param("T0001,BIG,Big," + "9" * 90_000 + ",TX10,FOOD", "unit_price", id="90 KB"),
        pytest.param("T0001,NUL,A\x00name,1,TX10,FOOD", "item_name", id="NUL in a name"),
        pytest.param("T0001,NL,Two\nlines,1,TX10,FOOD", "item_name", id="newline in a name"),
    ],
)
def test_a_hostile_cell_is_a_problem_of_its_row(row: str, field: str) -> None:
    data = HEADER + ('T0001,NL,"Two\nlines",1,TX10,FOOD\n' if "\n" in row else row + "\n")
    assert [(p.where, p.field) for p in problems_of(data.encode(), "items")] == [("row 2", field)]


def test_an_item_name_with_a_nul_is_refused_in_json_too() -> None:
    item = {"tenantId": "T0001", "itemCode": "X", "itemName": "a\u0000b", "unitPrice": 1,
            "taxCode": "TX10", "categoryCode": "FOOD"}  # fmt: skip
    assert [p.field for p in problems_of(json.dumps({"items": [item]}).encode())] == ["itemName"]
