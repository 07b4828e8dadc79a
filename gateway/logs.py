"""Structured JSON log lines (structlog), one per request and per notable event.

Log lines carry the trace id, codes, pseudonyms and counts; never a name, BSN,
V-nummer or body value. Callers pass only such fields; there is no
"log the request" helper that could pick up a body by accident.

A log line never changes an answer: a line that cannot be written (a full
disk, a closed pipe) is counted and dropped, never raised into the request
that was being answered, which may have committed already.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

import structlog

_dropped = 0
_dropped_lock = threading.Lock()


def dropped() -> int:
    """Log lines this process could not write."""
    return _dropped


class _DroppingLogger:
    """Writes each line to a stream; a write that fails is counted and dropped."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream  # None: whatever sys.stderr is at the time of the write
        self._lock = threading.Lock()

    def msg(self, message: str) -> None:
        global _dropped
        try:
            with self._lock:
                stream = self._stream or sys.stderr
                stream.write(message + "\n")
                stream.flush()
        except (OSError, ValueError):  # ENOSPC, EPIPE, EIO; a closed stream
            with _dropped_lock:
                _dropped += 1

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def configure(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on stderr (or ``stream``), with context variables (trace_id) merged in."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: _DroppingLogger(stream),
        cache_logger_on_first_use=True,
    )


def get(name: str) -> Any:
    return structlog.get_logger(name)


def error_kind(error: BaseException) -> str:
    """The class of an error, for a log line: never its message, which may quote input."""
    return type(error).__name__
