"""`just breaking` guards the OpenAPI documents as it guards the proto (oasdiff, pinned): a
removed route or answer field, a narrowed type, a new required input fail until released; an
added optional field passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .test_breaking_guard import JUST, ROOT

Edit = Callable[[dict[str, Any]], None]
CART = Path("contracts/openapi/cart.json")
ADMIN = Path("contracts/openapi/master-data-admin.json")


def run_guard(tmp_path: Path, document: Path, edit: Edit) -> subprocess.CompletedProcess[str]:
    """Edit a copy of one committed document and run `just breaking` over the copy."""
    for name in ("buf.yaml", "justfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("proto", "contracts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    edited = json.loads((tmp_path / document).read_text())
    edit(edited)
    (tmp_path / document).write_text(json.dumps(edited, indent=2))
    env = {**os.environ, "PATH": f"{JUST.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(JUST), "breaking"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False, timeout=300)  # fmt: skip


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def drop_answer_field(document: dict[str, Any]) -> None:
    cart = schema(document, "Cart")
    del cart["properties"]["total"]
    cart["required"].remove("total")


def new_required_input(document: dict[str, Any]) -> None:
    quantity = schema(document, "QuantityInput")
    quantity["properties"]["reason"] = {"type": "string"}
    quantity["required"].append("reason")


def narrow_a_type(document: dict[str, Any]) -> None:
    schema(document, "PaymentInput")["properties"]["amount"]["maximum"] = 100


def drop_a_route(document: dict[str, Any]) -> None:
    del document["paths"]["/api/v1/carts/{cartId}/bill"]


def drop_an_admin_route(document: dict[str, Any]) -> None:
    del document["paths"]["/admin/v1/import"]


def new_optional_field(document: dict[str, Any]) -> None:
    schema(document, "QuantityInput")["properties"]["note"] = {"type": "string"}


@pytest.mark.parametrize(
    ("document", "edit", "oasdiff_says"),
    [
        pytest.param(CART, drop_answer_field, "response-required-property-removed",
                     id="a field dropped from an answer"),
        pytest.param(CART, new_required_input, "new-required-request-property",
                     id="a new required input"),
        pytest.param(CART, narrow_a_type, "request-property-max-decreased", id="a narrowed type"),
        pytest.param(CART, drop_a_route, "api-path-removed", id="a route removed"),
        pytest.param(ADMIN, drop_an_admin_route, "api-path-removed", id="an admin route removed"),
    ],
)  # fmt: skip
def test_a_breaking_edit_fails_with_oasdiffs_rule(
    tmp_path: Path, document: Path, edit: Edit, oasdiff_says: str
) -> None:
    result = run_guard(tmp_path, document, edit)
    assert result.returncode != 0
    assert oasdiff_says in result.stdout + result.stderr


def test_an_added_optional_field_passes(tmp_path: Path) -> None:
    result = run_guard(tmp_path, CART, new_optional_field)
    assert result.returncode == 0, result.stdout + result.stderr
