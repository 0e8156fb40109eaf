"""The master files of docs/examples, imported by the real command in the documented order into
an empty database; a file with format and reference problems reported whole, in one pass, in
file order, nothing written; past the cap, a count of the rest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.harness.processes import BIN

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ORDER = [("tenants.csv", "tenants"), ("stores.csv", "stores"), ("tax-rules.csv", "tax-rules"),
         ("items-T0100.csv", "items"), ("store-prices.csv", "store-prices"),
         ("barcodes.csv", "barcodes"), ("scan-layouts.csv", "scan-layouts")]  # fmt: skip


@pytest.fixture(autouse=True)
def _sqlite_pass_only(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--database") == "postgres":
        pytest.skip("SQLite files named here: the PostgreSQL pass has nothing to add")


def master_data(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "master-data"), *args], env={**os.environ,
                          "MASTER_DATA_DB": str(database)}, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def test_every_example_file_imports_in_the_documented_order(tmp_path: Path) -> None:
    database = tmp_path / "md.db"
    for name, kind in ORDER:
        result = master_data(database, "import", str(EXAMPLES / name), "--kind", kind)
        assert result.returncode == 0, result.stderr
        assert "written into" in result.stdout
    result = master_data(database, "import", str(EXAMPLES / "master.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("6 records written")


def test_format_and_reference_problems_come_in_one_pass_in_file_order(tmp_path: Path) -> None:
    database = tmp_path / "md.db"
    assert master_data(database, "seed-demo").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"
        "T0001,NEW01,Fine,100,TX10,FOOD\n"  # row 2
        "T0001,NEW02,Bad price,-5,TX10,FOOD\n"  # row 3: format
        "T0001,NEW 03,Bad code,100,TX10,FOOD\n"  # row 4: format
        "T0001,NEW04,Unknown tax,100,TX99,FOOD\n"  # row 5: reference
        "T0001,NEW05,,100,TX10,FOOD\n"  # row 6: format
        "T9999,NEW06,Unknown tenant,100,TX10,FOOD\n"  # row 7: reference
        "T0001,NEW07,Bad,abc,TX10,FOOD\n"  # row 8: format
    )
    result = master_data(database, "import", str(bad), "--kind", "items")
    assert result.returncode == 1
    rows = [line.split(": ", 1)[1].split(",")[0] for line in result.stderr.splitlines()
            if ": row " in line]  # fmt: skip
    assert rows == ["row 3", "row 4", "row 5", "row 6", "row 7", "row 8"]
    assert "row 5, tax_code: no tax rule TX99 in tenant T0001" in result.stderr
    assert "row 7, tenant_id: no tenant T9999" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("7 records checked, nothing written")
    assert "writing" not in result.stderr


def test_past_the_cap_the_rest_is_a_count(tmp_path: Path) -> None:
    database = tmp_path / "md.db"
    assert master_data(database, "seed-demo").returncode == 0
    bad = tmp_path / "many.csv"
    rows = "".join(f"T0001,BAD{n},Item,x,TX10,FOOD\n" for n in range(250))
    bad.write_text("tenant_id,item_code,item_name,unit_price,tax_code,category_code\n" + rows)
    result = master_data(database, "import", str(bad), "--kind", "items")
    assert result.returncode == 1
    assert result.stderr.count(", unit_price: ") == 100
    assert "and 150 more problems" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("250 records checked, nothing written")
