"""Structured JSON log lines (structlog), one per request and per notable event.

Log lines carry the trace id, codes, pseudonyms and counts; never a name, BSN,
V-nummer or body value. Callers pass only such fields; there is no
"log the request" helper that could pick up a body by accident.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr, with context variables (trace_id) merged in."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get(name: str) -> Any:
    return structlog.get_logger(name)


def error_kind(error: BaseException) -> str:
    """The class of an error, for a log line: never its message, which may quote input."""
    return type(error).__name__
