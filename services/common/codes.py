"""What a code is (tenant, store, item, tax rule, category, terminal), for every service: 1 to
64 of A-Z a-z 0-9 _ . - and not only dots (`.` and `..` read as paths). The contract documents
the same rule."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # for fullmatch: Python's $ would pass a final \n
RULE = "1 to 64 characters of A-Z a-z 0-9 _ . -, not only dots"


def is_code(value: str) -> bool:
    return _CODE.fullmatch(value) is not None and value.strip(".") != ""


# For pydantic models and the OpenAPI documents made of them (its Rust regex engine reads $ as
# the very end, and has no lookahead): at least one character that is not a dot.
Code = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_.\-]*[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$", max_length=64)
]
