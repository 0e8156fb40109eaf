"""Group commit: writes that arrive together share one transaction, and each stands or falls
on its own."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from services.common.migrations import Migration
from services.common.sqlite_threads import SqliteThreads

SCHEMA = (
    Migration(1, "t", "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"),
)


async def test_concurrent_writes_all_land_and_a_failing_one_rolls_back_alone(
    tmp_path: Path,
) -> None:
    db = await SqliteThreads.open(tmp_path / "t.db", SCHEMA, synchronous="FULL", create=True)
    try:

        def insert(k: int) -> int:
            def work(c: sqlite3.Connection) -> int:
                c.execute("INSERT INTO t VALUES (?, ?)", (k, f"v{k}"))
                if k == 13:
                    raise ValueError("thirteen")  # after its insert: that must be undone
                return k

            return work  # type: ignore[return-value]

        results = await asyncio.gather(
            *(db.write(insert(k)) for k in range(50)),  # type: ignore[arg-type]
            return_exceptions=True,
        )
        assert [r for r in results if isinstance(r, Exception)] == [results[13]]
        assert isinstance(results[13], ValueError)
        rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT k FROM t ORDER BY k")])
        assert rows == [k for k in range(50) if k != 13]
    finally:
        await db.close()


async def test_a_write_sees_the_writes_committed_with_it(tmp_path: Path) -> None:
    db = await SqliteThreads.open(tmp_path / "t.db", SCHEMA, synchronous="FULL", create=True)
    try:
        first = db.write(lambda c: c.execute("INSERT INTO t VALUES (1, 'a')"))
        second = db.write(
            lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[no-any-return]
        )
        _, seen = await asyncio.gather(first, second)
        assert seen == 1
        with pytest.raises(sqlite3.IntegrityError):
            await db.write(lambda c: c.execute("INSERT INTO t VALUES (1, 'again')"))
    finally:
        await db.close()


@pytest.mark.parametrize("kind", ["random bytes", "a directory"])
async def test_a_file_that_is_no_database_fails_the_open_and_never_hangs(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "bad.db"
    if kind == "a directory":
        path.mkdir()
    else:
        path.write_bytes(bytes(range(256)) * 16)
    with pytest.raises((sqlite3.Error, OSError)):
        async with asyncio.timeout(10):  # the writer thread died and nobody heard: a hang
            await SqliteThreads.open(path, SCHEMA, synchronous="FULL", create=True)
