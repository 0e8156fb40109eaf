"""`just breaking` fails on breaking edits of the contract and passes additive ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Path("proto/kugel/item/v1/item_service.proto")
JUST = Path(sys.executable).parent / "just"

LAST_RPC = (
    "  rpc BatchResolveScans(BatchResolveScansRequest) returns (BatchResolveScansResponse) {\n"
    "    option idempotency_level = NO_SIDE_EFFECTS;\n"
    "  }\n"
)
NEW_RPC = """
  // ListTaxRules lists the tenant's tax rules.
  rpc ListTaxRules(ListTaxRulesRequest) returns (ListTaxRulesResponse);
}

// ListTaxRulesRequest names a tenant.
message ListTaxRulesRequest {
  // tenant_id is the tenant.
  string tenant_id = 1;
}

// ListTaxRulesResponse carries the rules.
message ListTaxRulesResponse {
  // tax_rules are the tenant's rules.
  repeated TaxRule tax_rules = 1;
}
"""


def run_guard(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    """Apply one textual edit to a copy of the repo's contract and run `just breaking` there."""
    for name in ("buf.yaml", "justfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("proto", "contracts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    contract = tmp_path / CONTRACT
    text = contract.read_text()
    assert old in text, f"edit target {old!r} not in the contract"
    contract.write_text(text.replace(old, new, 1))
    # The copy has no .venv of its own: buf comes from the one running the tests.
    env = {**os.environ, "PATH": f"{JUST.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(JUST), "breaking"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("old", "new", "buf_says"),
    [
        pytest.param(
            "string item_code = 3;",
            "string item_code = 20;",
            'Previously present field "3" with name "item_code"',
            id="renumber a field",
        ),
        pytest.param(
            "string terminal_id = 4;\n",
            "",
            'Previously present field "4" with name "terminal_id"',
            id="delete a field",
        ),
        pytest.param(
            "int64 unit_price = 3;",
            "string unit_price = 3;",
            'changed type from "int64" to "string"',
            id="change a field's type",
        ),
        pytest.param(
            "rpc GetItemDetail(",
            "rpc FetchItemDetail(",
            'Previously present RPC "GetItemDetail"',
            id="rename an rpc",
        ),
    ],
)
def test_breaking_edit_fails_with_bufs_message(
    tmp_path: Path, old: str, new: str, buf_says: str
) -> None:
    result = run_guard(tmp_path, old, new)
    assert result.returncode != 0
    assert buf_says in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            "bool discount_restricted = 12;\n",
            "bool discount_restricted = 12;\n"
            "  // barcode is the item's JAN/EAN code.\n  string barcode = 13;\n",
            id="new field",
        ),
        pytest.param(
            LAST_RPC + "}\n",
            LAST_RPC + NEW_RPC,
            id="new rpc",
        ),
    ],
)
def test_additive_edit_passes(tmp_path: Path, old: str, new: str) -> None:
    result = run_guard(tmp_path, old, new)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unchanged_contract_passes(tmp_path: Path) -> None:
    result = run_guard(tmp_path, "", "")
    assert result.returncode == 0, result.stdout + result.stderr
