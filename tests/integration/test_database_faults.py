"""A database file that cannot be used, for every command of both services: one line naming the
variable, the path and the cause, exit status 2, within a bounded time; never a hang, a
traceback, a silently made empty database or a read-only one served. (A writer thread that
could not open the file used to leave `serve` and `import` waiting forever.)

Permissions are tried as root too: the command runs without CAP_DAC_OVERRIDE (setpriv), so a
file's mode binds it as it binds any user. The full disk is a small tmpfs (root only)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.harness.processes import BIN

ROOT = Path(__file__).resolve().parents[2]
MASTER_FILE = ROOT / "docs" / "examples" / "master.json"  # whole: imports into an empty database
IS_ROOT = os.geteuid() == 0
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
          "--inh-caps=-dac_override,-dac_read_search"]  # fmt: skip

COMMANDS = {
    "master-data": {
        "serve": ["serve"],
        "init": ["init"],
        "migrate": ["migrate"],
        "seed-demo": ["seed-demo"],
        "import": ["import", str(MASTER_FILE)],
    },
    "cart": {
        "serve": ["serve"],
        "init": ["init"],
        "migrate": ["migrate"],
        "terminals add": [
            "terminals",
            "add",
            "--tenant",
            "T1",
            "--store",
            "S1",
            "--terminal",
            "R1",
        ],
    },
}
VARIABLE = {"master-data": "MASTER_DATA_DB", "cart": "CART_DB"}
CREATING = {"init", "seed-demo", "import", "terminals add"}


@pytest.fixture(autouse=True)
def _sqlite_pass_only(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--database") == "postgres":
        pytest.skip("SQLite files: the PostgreSQL pass has nothing to add")


def run(program: str, command: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, VARIABLE[program]: str(database), "HTTP_PORT": "0", "GRPC_PORT": "0",
           "BIND_HOST": "127.0.0.1"}  # fmt: skip
    argv = [str(BIN / program), *COMMANDS[program][command]]
    command_line = [*NO_DAC, *argv] if IS_ROOT else argv
    return subprocess.run(command_line, env=env, capture_output=True, text=True, timeout=30,
                          check=False)  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str], *parts: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines()
             if " INFO " not in line and not line.endswith("...")]  # fmt: skip
    assert len(lines) == 1, result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def good(program: str, path: Path) -> Path:
    subprocess.run([str(BIN / program), "init"], env={**os.environ, VARIABLE[program]: str(path)},
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return path


def random_bytes(program: str, folder: Path) -> Path:
    path = folder / "random.db"
    path.write_bytes(os.urandom(8192))
    return path


def a_directory(program: str, folder: Path) -> Path:
    path = folder / "dir.db"
    path.mkdir()
    return path


def unreadable(program: str, folder: Path) -> Path:
    path = good(program, folder / "noread.db")
    path.chmod(0)
    return path


def read_only(program: str, folder: Path) -> Path:
    path = good(program, folder / "nowrite.db")
    path.chmod(0o444)
    return path


def newer_schema(program: str, folder: Path) -> Path:
    path = good(program, folder / "newer.db")
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
        connection.commit()
    return path


def in_a_read_only_folder(program: str, folder: Path) -> Path:
    inner = folder / "ro"
    inner.mkdir()
    path = good(program, inner / "db.db")
    inner.chmod(0o555)
    return path


FAULTS: list[tuple[str, Callable[[str, Path], Path], str]] = [
    ("random bytes", random_bytes, "file is not a database"),
    ("a directory", a_directory, "is a directory, not a database file"),
    ("no read permission", unreadable, "permission denied"),
    ("no write permission", read_only, "permission denied"),
    ("a newer schema", newer_schema, "migrated by a newer release"),
    ("a read-only folder", in_a_read_only_folder, "is not writable"),
]


@pytest.mark.parametrize(("fault", "make", "cause"), FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize(
    ("program", "command"),
    [(p, c) for p, commands in COMMANDS.items() for c in commands],
    ids=[f"{p} {c}" for p, commands in COMMANDS.items() for c in commands],
)
def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path, program: str, command: str, fault: str, make: Callable[[str, Path], Path],
    cause: str,
) -> None:  # fmt: skip
    folder = tmp_path / "data"
    folder.mkdir()
    path = make(program, folder)
    one_line(run(program, command, path), f"{VARIABLE[program]}={path}", cause)


@pytest.mark.parametrize(
    ("program", "command"),
    [(p, c) for p, commands in COMMANDS.items() for c in commands],
    ids=[f"{p} {c}" for p, commands in COMMANDS.items() for c in commands],
)
def test_only_the_commands_that_create_make_a_missing_database(
    tmp_path: Path, program: str, command: str
) -> None:
    path = tmp_path / "data" / "typo" / "db.db"
    result = run(program, command, path)
    if command in CREATING:
        assert result.returncode == 0, result.stderr
        assert path.is_file()
    else:  # a typo in the path must not serve an empty database
        line = one_line(result, f"{VARIABLE[program]}={path}", "no database file")
        assert "init" in line
        assert not path.parent.exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 160 KiB tmpfs: room for a database's schema, not for the demo catalog."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], check=True)
    try:
        (mount / "data").mkdir()
        yield mount / "data"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.parametrize("command", ["seed-demo", "import"])
def test_a_full_disk_is_one_line_and_nothing_half_written(small_disk: Path, command: str) -> None:
    path = good("master-data", small_disk / "md.db")
    filler = small_disk / "filler"
    with contextlib.suppress(OSError):  # fill what is left but a little
        filler.write_bytes(b"\0" * (1 << 20))
    one_line(run("master-data", command, path), "MASTER_DATA_DB=", "full")
    filler.unlink()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_a_full_disk_at_creation_leaves_no_empty_database(small_disk: Path) -> None:
    (small_disk / "filler").write_bytes(b"\0" * (150 << 10))
    path = small_disk / "new.db"
    one_line(run("master-data", "seed-demo", path), "MASTER_DATA_DB=", "full")
    assert not path.exists()  # `serve` must not find an empty one later
