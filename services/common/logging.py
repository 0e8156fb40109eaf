"""One log format for every service: a timestamped line per event on stderr."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr as single lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
