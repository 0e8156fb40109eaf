"""Importing a master file in two passes over its rows: everything checked first, then written
in batches inside one transaction; neither pass holds the file's records (a 1,000,000-row CSV
took master-data to 2 GB when it did), an entry named twice is found by its key exactly, and a
file that changes between the passes writes nothing."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from services.master_data import master_import
from services.master_data.catalog import ItemCatalog
from services.master_data.master_files import InvalidMasterFile, MasterFile, read_csv
from services.master_data.master_import import check_master_file, import_master_file
from services.master_data.records import Item

HEADER = "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"


def items_csv(rows: int, start: int = 0) -> bytes:
    body = "".join(f"T0001,BULK{n:07d},Bulk item {n},{100 + n % 900},TX10,FOOD\n"
                   for n in range(start, start + rows))  # fmt: skip
    return (HEADER + body).encode()


def csv_file(data: bytes) -> MasterFile:
    return read_csv(lambda: io.BytesIO(data), "items")


async def test_the_check_holds_no_records(catalog: ItemCatalog) -> None:
    rows = 20_000
    file = csv_file(items_csv(rows))
    tracemalloc.start()
    try:
        assert await check_master_file(catalog, file) == rows
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding the records cost about 2 KB a row; a digest and its set slot cost under 100 bytes.
    assert peak < rows * 300, f"{peak / rows:.0f} bytes a row"


async def test_a_file_is_written_whole_in_batches(catalog: ItemCatalog) -> None:
    file = csv_file(items_csv(1_234))
    assert await import_master_file(catalog, file) == 1_234
    assert await catalog.has(Item, ("T0001", "BULK0000000"))
    assert await catalog.has(Item, ("T0001", "BULK0001233"))


async def test_an_entry_named_twice_is_named_with_its_first_row(catalog: ItemCatalog) -> None:
    data = items_csv(3) + b"T0001,BULK0000001,Again,1,TX10,FOOD\n"
    with pytest.raises(InvalidMasterFile) as refused:
        await check_master_file(catalog, csv_file(data))
    assert [str(p) for p in refused.value.problems] == ["row 5, (key): the same entry as row 3"]


async def test_digests_that_collide_are_no_duplicate(
    catalog: ItemCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(master_import, "_digest", lambda record: 7)  # every key alike
    assert await check_master_file(catalog, csv_file(items_csv(50))) == 50


async def test_a_file_that_changes_between_the_passes_writes_nothing(
    catalog: ItemCatalog, tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(items_csv(600))
    file = read_csv(lambda: path.open("rb"), "items")

    def changed(words: str) -> None:
        if "writing" in words:  # after the check, before the write
            path.write_bytes(items_csv(600) + b"T0001,LATE,Late,-1,TX10,FOOD\n")

    with pytest.raises(InvalidMasterFile) as refused:
        await import_master_file(catalog, file, changed)
    assert "changed since it was checked" in str(refused.value)
    assert not await catalog.has(Item, ("T0001", "BULK0000000"))
