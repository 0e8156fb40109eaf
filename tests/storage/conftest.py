"""Storage tests run against both backends: a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.harness.postgres import LocalPostgres

_names = itertools.count(1)

Location = Callable[[], str]


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """Makes a new, empty database; its location as the services' settings take it. Open it
    twice for two processes (replicas) sharing it."""
    if request.param == "sqlite":
        return lambda: str(tmp_path / f"db{next(_names)}.sqlite")
    server: LocalPostgres = request.getfixturevalue("postgres_server")
    return lambda: server.create_database(f"storage_{next(_names)}")
