"""The committed OpenAPI documents are what the code makes of itself (`just gen` writes them;
`just check-gen` fails on a stale one), and every operation has what a client generator
needs: an operationId, a tag, its errors. (The cart serves the same: tests/cart/test_openapi.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.cart.openapi import openapi_document
from services.master_data.admin_openapi import admin_openapi_document

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {
    "cart.json": openapi_document,
    "master-data-admin.json": admin_openapi_document,
}


def committed(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((ROOT / "contracts/openapi" / name).read_text())
    return found


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_committed_document_is_the_codes_own(name: str) -> None:
    assert committed(name) == json.loads(json.dumps(DOCUMENTS[name]())), "run `just gen`"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_operation_is_named_tagged_and_secured(name: str) -> None:
    document = committed(name)
    ids = []
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            ids.append(operation["operationId"])
            assert operation["tags"], operation["operationId"]
            assert "401" in operation["responses"], operation["operationId"]
    assert len(ids) == len(set(ids))
    assert document["security"]
    assert document["components"]["securitySchemes"]
