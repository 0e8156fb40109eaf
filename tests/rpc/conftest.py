"""The RPC layer's in-process tests serve master-data's ItemService through it, on its demo
data (the conformance suite serves another service: tests/conformance)."""

from __future__ import annotations

# Fixtures are found by name in a conftest's namespace: importing them is how they are shared.
from tests.master_data.conftest import (  # noqa: F401
    TOKEN,
    http,
    master_data,
    repository,
    settings,
)
