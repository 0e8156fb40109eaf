"""Settings from the environment, or a clear message naming each bad variable and exit 2; a
variable that looks like one of ours but is not (USE_GRCP) is warned about with the name meant."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


# Every variable either service reads (tests/common/test_settings_loader.py holds it equal to
# their settings): under `just up` both share a shell, and one's are never the other's typos.
PROJECT_VARIABLES: frozenset[str] = frozenset(
    {
        "ADMIN_TOKEN",
        "BIND_HOST",
        "BUSINESS_TIMEZONE",
        "CART_CACHE_BYTES",
        "CART_CACHE_SIZE",
        "CART_DB",
        "CATALOG_CACHE_SIZE",
        "CATALOG_POLL_SECONDS",
        "CORS_ADMIN_API",
        "CORS_ALLOWED_ORIGINS",
        "CORS_ALLOW_CREDENTIALS",
        "DB_POOL_SIZE",
        "DEBUG_RPC_DELAY_MS",
        "GRPC_BREAKER_COOLDOWN_SECONDS",
        "GRPC_IDLE_TIMEOUT_SECONDS",
        "GRPC_PORT",
        "GRPC_TIMEOUT",
        "HTTP_IDLE_TIMEOUT_SECONDS",
        "HTTP_PORT",
        "HTTP_SERVER",
        "IDEMPOTENCY_KEY_TTL_SECONDS",
        "ITEM_CACHE_SIZE",
        "ITEM_CACHE_TTL_SECONDS",
        "ITEM_NOT_FOUND_TTL_SECONDS",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "MASTER_DATA_CA_FILE",
        "MASTER_DATA_DB",
        "MASTER_DATA_GRPC_TLS",
        "MASTER_DATA_GRPC_URL",
        "MASTER_DATA_HTTP_POOL_SIZE",
        "MASTER_DATA_HTTP_URL",
        "MASTER_DATA_MAX_ADDRESSES",
        "MASTER_DATA_RESOLVE_SECONDS",
        "MASTER_DATA_TOKEN",
        "MASTER_DATA_TOKENS",
        "MAX_CONNECTIONS",
        "MAX_CONNECTION_AGE_GRACE_SECONDS",
        "MAX_CONNECTION_AGE_SECONDS",
        "MAX_HEADER_BYTES",
        "MAX_OPEN_CARTS",
        "MAX_REQUEST_BYTES",
        "MAX_STALE_SECONDS",
        "MAX_WATCHES_PER_CONNECTION",
        "MAX_WATCHES_PER_TOKEN",
        "PRELOAD_STORES",
        "REQUEST_READ_TIMEOUT_SECONDS",
        "REUSE_PORT",
        "SHUTDOWN_GRACE_SECONDS",
        "TERMINAL_RATE_BURST",
        "TERMINAL_RATE_LIMIT",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "USE_GRPC",
        "USE_ITEM_CACHE",
        "WATCH_HEARTBEAT_SECONDS",
        "WATCH_IDLE_TIMEOUT_SECONDS",
        "WATCH_ITEM_CHANGES",
        "WATCH_SEND_TIMEOUT_SECONDS",
        "WORKERS",
    }
)


# What a refusal adds, by pydantic's error type, so it names what is accepted.
ACCEPTED: dict[str, str] = {
    "bool_parsing": "accepted: true, false, 1, 0, yes, no, on, off",
    "bool_type": "accepted: true, false, 1, 0, yes, no, on, off",
    "int_parsing": "accepted: a whole number",
    "float_parsing": "accepted: a number",
}


def load_settings(
    settings_type: type[S],
    program: str,
    environ: Mapping[str, str] | None = None,
    elsewhere: Iterable[str] = PROJECT_VARIABLES,
) -> S:
    """The settings, after a warning for each variable that looks like a typo of one of ours;
    `elsewhere`: the variables of the project's other programs, never taken for typos."""
    environ = os.environ if environ is None else environ
    for given, meant in misspelled(settings_type.model_fields, environ, elsewhere):
        print(f"{program}: warning: {given} is not a variable of {program} (ignored): "
              f"did you mean {meant}?", file=sys.stderr)  # fmt: skip
    try:
        return settings_type()
    except ValidationError as invalid:
        for error in invalid.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(f"{program}: invalid environment variable {name}: {_reason(error)}",
                  file=sys.stderr)  # fmt: skip
        raise SystemExit(2) from None


def _reason(error: Any) -> str:
    accepted = ACCEPTED.get(error["type"])
    return f"{error['msg']} ({accepted})" if accepted else str(error["msg"])


def misspelled(
    fields: Iterable[str], environ: Mapping[str, str], elsewhere: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(given, meant) for each variable set that is not one of `fields` (nor of `elsewhere`,
    the other service's, which shares a shell with it under `just up`) but one slip away from
    one: a swapped, missing, extra or wrong letter (two in a name of 15 or more)."""
    known = {name.upper() for name in fields}
    skip = known | {name.upper() for name in elsewhere}
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if upper in skip:
            continue
        slips, nearest = min((_slips(upper, field), field) for field in known)
        if slips <= (2 if len(nearest) >= 15 else 1):
            found.append((name, nearest))
    return found


def _slips(a: str, b: str) -> int:
    """Optimal string alignment distance: edits, adjacent swaps counted as one."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            row.append(value)
        previous2, previous = previous, row
    return previous[-1]


def settings_help(settings_type: type[BaseSettings]) -> str:
    """The environment variables a service reads, with their defaults: `serve --help`'s list,
    made from the settings class so it cannot drift (docs/operations.md says what each means)."""
    lines = ["environment variables (default):"]
    for name, field in sorted(settings_type.model_fields.items()):
        default = "(required)" if field.is_required() else repr(field.get_default())
        lines.append(f"  {name.upper():<34} {default}")
    return "\n".join(lines)
