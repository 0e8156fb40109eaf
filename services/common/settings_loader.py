"""Settings from the environment, or a clear message naming each bad variable and exit 2."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def load_settings(settings_type: type[S], program: str) -> S:
    try:
        return settings_type()
    except ValidationError as invalid:
        for error in invalid.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(
                f"{program}: invalid environment variable {name}: {error['msg']}", file=sys.stderr
            )
        raise SystemExit(2) from None


def settings_help(settings_type: type[BaseSettings]) -> str:
    """The environment variables a service reads, with their defaults: `serve --help`'s list,
    made from the settings class so it cannot drift (docs/operations.md says what each means)."""
    lines = ["environment variables (default):"]
    for name, field in sorted(settings_type.model_fields.items()):
        default = "(required)" if field.is_required() else repr(field.get_default())
        lines.append(f"  {name.upper():<34} {default}")
    return "\n".join(lines)
