"""A till team's client, made by a generator we did not write (openapi-python-client) from the
committed OpenAPI document, with no hand edits: its modules and functions are named as the docs
name the operations, and it completes a checkout, a discount and a return against a real cart,
each change with an Idempotency-Key (a change sent twice with its key changes nothing twice)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.harness.processes import (
    BIN,
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "contracts/openapi/cart.json"
PACKAGE = "kugel_cart_client"
OPERATIONS = {
    "carts": {"create_cart", "get_cart", "set_cart_discounts", "resume_item_entry",
              "take_subtotal", "add_payment", "bill_cart", "cancel_cart"},
    "line_items": {"add_line_items", "cancel_line_item", "change_line_quantity",
                   "change_line_unit_price", "set_line_discounts"},
    "transactions": {"list_transactions", "get_transaction", "void_transaction", "return_lines"},
}  # fmt: skip


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated package, in a folder on sys.path for the module's tests."""
    folder = tmp_path_factory.mktemp("generated")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # its ruff pass
    made = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(DOCUMENT), "--meta",
         "none", "--output-path", str(folder / PACKAGE)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Warning" not in made.stdout, made.stdout  # every part of the document understood
    sys.path.insert(0, str(folder))
    yield folder / PACKAGE
    sys.path.remove(str(folder))
    for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def operation(tag: str, name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def test_modules_and_functions_are_named_as_the_docs_name_them(client_package: Path) -> None:
    found = {
        tag.name: {m.stem for m in tag.glob("*.py") if m.stem != "__init__"}
        for tag in (client_package / "api").iterdir()
        if tag.is_dir() and tag.name != "__pycache__"
    }
    assert found == OPERATIONS
    docs = (ROOT / "docs/cart.md").read_text()
    for tag, names in OPERATIONS.items():
        for name in names:
            head, *rest = name.split("_")
            assert head + "".join(w.title() for w in rest) in docs, name  # its operationId
            assert callable(operation(tag, name).sync_detailed)


@pytest.fixture(scope="module")
def cart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str]]:
    tmp = tmp_path_factory.mktemp("client")
    master_data = start_master_data(tmp)
    key = add_terminal(tmp, "T0001", "S001", "R01")
    service = start_cart(tmp, master_data)
    yield service, key
    service.stop()
    master_data.stop()


def test_a_checkout_a_discount_and_a_return(
    client_package: Path, cart: tuple[ServiceProcess, str]
) -> None:
    service, key = cart
    client_module = importlib.import_module(f"{PACKAGE}.client")
    m = models()
    client = client_module.AuthenticatedClient(
        base_url=service.url(), token=key, prefix="", auth_header_name="X-API-KEY", timeout=10.0
    )

    def once(tag: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """The call with a fresh Idempotency-Key, sent twice: the same answer both times."""
        call = operation(tag, name).sync_detailed
        idempotency_key = uuid.uuid4().hex
        first = call(*args, client=client, idempotency_key=idempotency_key, **kwargs)
        again = call(*args, client=client, idempotency_key=idempotency_key, **kwargs)
        assert first.status_code == again.status_code, first.content
        assert first.content == again.content  # the kept answer, not a second change
        assert isinstance(first.parsed, m.Cart | m.BilledCart | m.Transaction), first.content
        return first.parsed

    with client:
        made = once("carts", "create_cart")
        cart_id = made.cart_id
        weight_label = "2100002012372"  # 1,237 g of MEAT0001 at 3,980 a kg: 4,923
        lines = [m.LineItemInput(item_code="ITEM0001", quantity=2),
                 m.LineItemInput(item_code="ITEM0002"),
                 m.LineItemInput(scan=weight_label)]  # fmt: skip
        scanned = once("line_items", "add_line_items", cart_id, body=lines)
        assert [line.item_code for line in scanned.line_items] == [
            "ITEM0001", "ITEM0002", "MEAT0001",
        ]  # fmt: skip
        weighed = scanned.line_items[2]
        assert (weighed.amount, weighed.scan.net_weight.value) == (4923, 1237)
        discount = [m.DiscountInput(type_=m.DiscountType.PERCENT, value=10, reason="staff")]
        discounted = once("line_items", "set_line_discounts", cart_id, 1, body=discount)
        assert discounted.discount_total > 0
        assert discounted.total < scanned.total
        paying = once("carts", "take_subtotal", cart_id)
        payment = m.PaymentInput(method=m.PaymentMethod.CASH, amount=paying.total + 100)
        paid = once("carts", "add_payment", cart_id, body=payment)
        assert paid.change == 100
        billed = once("carts", "bill_cart", cart_id)
        assert billed.receipt.total == paying.total
        sale = billed.transaction_id
        back = m.ReturnInput(lines=[m.ReturnedLineInput(line_no=2, quantity=1)])
        returned = once("transactions", "return_lines", sale, body=back)
        assert returned.type_ == m.TransactionType.RETURN
        assert returned.original_transaction_id == sale
        found = operation("transactions", "get_transaction").sync(sale, client=client)
        assert found.transaction_id == sale
