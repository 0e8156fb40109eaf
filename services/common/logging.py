"""One log format for every service: a line per event on stderr, as text or as JSON objects
(LOG_FORMAT=json), with the trace and span ids of the span the event happened in, if any."""

from __future__ import annotations

import json
import logging
import sys
from typing import Literal

from opentelemetry import trace

LogFormat = Literal["text", "json"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
LINE = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


class _TraceIds(logging.Filter):
    """Puts the current span's ids on the record ("" outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        valid = context.is_valid
        record.trace_id = format(context.trace_id, "032x") if valid else ""
        record.span_id = format(context.span_id, "016x") if valid else ""
        return True


class _TextLines(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s", TIME_FORMAT
        )

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", "")
        span_id = getattr(record, "span_id", "")
        return f"{line} trace_id={trace_id} span_id={span_id}" if trace_id else line


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, TIME_FORMAT),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", "")
        if trace_id:
            entry["trace_id"] = trace_id
            entry["span_id"] = getattr(record, "span_id", "")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Send every logger's records to stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines() if log_format == "json" else _TextLines())
    handler.addFilter(_TraceIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
