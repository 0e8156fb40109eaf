"""Schemathesis over both HTTP APIs a client builds on, from their committed OpenAPI documents:
the cart's (with a terminal key) and master-data's admin API (with the admin token), every
check Schemathesis has, all four phases (examples, coverage, fuzzing, stateful over the
documents' links), against real processes on fresh databases.

    python -m loadlab.api_fuzz [--max-examples 200] [--seed N]

What Schemathesis is told beyond the documents is in tests/contract/ (`fuzz_hooks.py`, one
`.toml` per API); the suite runs the same at a tenth of the recipe's bound
(tests/integration/test_api_fuzz.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final, NamedTuple

from tests.support.harness.processes import (
    BIN,
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

ROOT: Final = Path(__file__).resolve().parents[1]
ADMIN_TOKEN: Final = "api-fuzz-admin"  # noqa: S105 - the run's own throwaway master-data
DOCUMENTS: Final = {"cart": "cart.json", "master-data-admin": "master-data-admin.json"}


def fuzz(
    api: str,
    url: str,
    secrets: dict[str, str],
    max_examples: int,
    seed: int | None,
    *,
    document: Path | None = None,
    only: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """One Schemathesis run over one API's committed document (or `document`), every operation
    or `only` one; its output is the report. One worker: Hypothesis describes its strategies
    with `ast.parse`, and CPython 3.11's ast module keeps one recursion counter for all threads
    (a run of 2 workers crashed with SystemError "AST constructor recursion depth mismatch";
    CPython gh-106905)."""
    document = document or ROOT / "contracts/openapi" / DOCUMENTS[api]
    command = [str(BIN / "st"), "--config-file", str(ROOT / "tests/contract" / f"{api}.toml"),
               "run", str(document), "--url", url, "--checks", "all",
               "--max-examples", str(max_examples), "--workers", "1", "--no-color",
               "--request-timeout", "30", "--generation-database", "none"]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    if only is not None:
        command += ["--include-operation-id", only]
    env = {**os.environ, **secrets, "SCHEMATHESIS_HOOKS": "tests.contract.fuzz_hooks",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603 - our own venv's st
                          timeout=3600, check=False)  # fmt: skip


class Stack(NamedTuple):
    master_data: ServiceProcess
    cart: ServiceProcess
    key: str  # a terminal's

    def stop(self) -> None:
        self.cart.stop()
        self.master_data.stop()


def services(tmp: Path) -> Stack:
    """master-data (admin API on) and a cart on fresh databases, and a terminal's key. The
    cart takes every request the fuzzer sends (no rate limit)."""
    master_data = start_master_data(tmp, ADMIN_TOKEN=ADMIN_TOKEN)
    key = add_terminal(tmp, "T0001", "S001", "FUZZ")
    return Stack(master_data, start_cart(tmp, master_data, TERMINAL_RATE_LIMIT="0"), key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200, help="per operation")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        stack = services(Path(folder))
        try:
            for api, url, secrets in (
                ("cart", stack.cart.url(), {"CART_TERMINAL_KEY": stack.key}),
                ("master-data-admin", stack.master_data.url(), {"ADMIN_TOKEN": ADMIN_TOKEN}),
            ):
                print(f"== {api}: Schemathesis, {args.max_examples} examples an operation",
                      flush=True)  # fmt: skip
                result = fuzz(api, url, secrets, args.max_examples, args.seed)
                print(result.stdout[result.stdout.find("=== SUMMARY") :] or result.stdout)
                failed |= result.returncode != 0
        finally:
            stack.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
