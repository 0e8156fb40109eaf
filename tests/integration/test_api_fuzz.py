"""Schemathesis (a fuzzer we did not write) over both HTTP APIs from their committed OpenAPI
documents, against real processes on this pass's engine: every check it has (no 5xx, status
codes, content types and bodies as documented, bad input refused, good input taken, auth
required), all four phases, stateful over the documents' links. The suite's bound is a tenth of
`just fuzz-api`'s; a fixed seed, so a failure here is reproducible."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadlab.api_fuzz import ADMIN_TOKEN, ROOT, Stack, fuzz, services

SUITE_EXAMPLES = 20  # the recipe's 200, a tenth
SEED = 20261207


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = services(tmp_path_factory.mktemp("fuzz"))
    yield running
    running.stop()


def report(output: str) -> str:
    return output[output.find("=== FAILURES") :] if "=== FAILURES" in output else output[-3000:]


def test_the_cart_api_answers_every_case_as_documented(stack: Stack) -> None:
    result = fuzz("cart", stack.cart.url(), {"CART_TERMINAL_KEY": stack.key}, SUITE_EXAMPLES,
                  SEED)  # fmt: skip
    assert result.returncode == 0, report(result.stdout + result.stderr)
    assert " passed" in result.stdout


def test_the_admin_api_answers_every_case_as_documented(stack: Stack) -> None:
    result = fuzz("master-data-admin", stack.master_data.url(), {"ADMIN_TOKEN": ADMIN_TOKEN},
                  SUITE_EXAMPLES, SEED)  # fmt: skip
    assert result.returncode == 0, report(result.stdout + result.stderr)
    assert " passed" in result.stdout


def test_an_answer_off_the_document_fails_the_fuzzer(stack: Stack, tmp_path: Path) -> None:
    """The guard can fail: a document whose cart has a field the cart never sends."""
    document = json.loads((ROOT / "contracts/openapi/cart.json").read_text())
    cart = document["components"]["schemas"]["Cart"]
    cart["properties"]["loyaltyPoints"] = {"type": "integer"}
    cart["required"].append("loyaltyPoints")
    edited = tmp_path / "cart.json"
    edited.write_text(json.dumps(document))
    result = fuzz("cart", stack.cart.url(), {"CART_TERMINAL_KEY": stack.key}, 5, SEED,
                  document=edited, only="createCart")  # fmt: skip
    assert result.returncode != 0
    assert "loyaltyPoints" in result.stdout
