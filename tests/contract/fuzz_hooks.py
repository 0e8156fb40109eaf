"""What Schemathesis is told of the API beyond its OpenAPI documents (SCHEMATHESIS_HOOKS).

- An integer is an integer literal: money is integer minor units, and the API refuses `100.0`
  rather than read it as 100 (docs/cart.md). JSON Schema cannot say so (to it 100.0 is an
  integer), so the fuzzer's integral floats are sent as the integers they stand for.
- An Idempotency-Key names one request: the same key with another request is 422 by design.
  The fuzzer draws few distinct keys, so each valid key it draws gets a suffix of its own;
  a key that is no key still goes out as drawn.
- A barcode carries a check digit (GS1's mod 10) that JSON Schema cannot state: a barcode of
  the right length gets its last digit made right, so it reaches the write it stands for; a
  value that is no barcode still goes out as drawn.
- `X-Request-Timeout-Ms` shortens the lookups' deadline by design: a few milliseconds end in
  503 master_data_unavailable, as documented. The fuzzer's digits are kept at 5 s or more; a
  value that is no number still goes out as drawn.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

from services.common.gtin import GTIN_LENGTHS, with_check_digit

KEY = re.compile(r"[\x21-\x7e]{1,255}")
MIN_TIMEOUT_MS = 5_000


def _integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    return value


def _checked(code: Any) -> Any:
    if isinstance(code, str) and code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS:
        return with_check_digit(code[:-1])
    return code


def _barcodes(value: Any) -> Any:
    if isinstance(value, list):
        return [_barcodes(v) for v in value]
    if isinstance(value, dict):
        return {k: _checked(v) if k == "barcode" else _barcodes(v) for k, v in value.items()}
    return value


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return _barcodes(_integers(body))


@schemathesis.hook
def map_path_parameters(
    context: Any, path_parameters: dict[str, Any] | None
) -> dict[str, Any] | None:
    if isinstance(path_parameters, dict) and "barcode" in path_parameters:
        path_parameters["barcode"] = _checked(path_parameters["barcode"])
    return path_parameters


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    key = headers.get("Idempotency-Key")
    if key is not None and KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    value = headers.get("X-Request-Timeout-Ms")
    if value is not None and value.isascii() and value.isdigit():
        headers["X-Request-Timeout-Ms"] = str(max(int(value), MIN_TIMEOUT_MS))
    return headers
