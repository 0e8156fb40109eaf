"""The one storage failure the edges map for callers: the database cannot be reached."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database is down, restarting or out of connections. A read did not happen; a write
    whose connection broke at its commit may or may not have (the caller reads back before
    retrying). 503 / UNAVAILABLE at the edges."""
