"""Request plumbing shared by the blueprints: body reading, clock, services.

The body is read here, never by Flask's ``get_json``: at most limit+1 bytes
(chunked bodies included, which a WSGI server may otherwise cut silently at
the limit), so an oversized body is a 413 and never a truncated message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, g, request

from gateway.errors import PayloadTooLarge, UnsupportedMediaType
from gateway.pipeline import Services

_CHUNK = 64 * 1024


def services() -> Services:
    svc: Services = current_app.extensions["gateway"]
    return svc


def now() -> datetime:
    """The gateway's receipt time: the one clock every decision uses."""
    return datetime.now(UTC)


def trace_id() -> str:
    value: str = g.trace_id
    return value


def require_media_type(*allowed: str) -> None:
    """Raises UnsupportedMediaType unless Content-Type is one of ``allowed``."""
    if request.mimetype not in allowed:
        raise UnsupportedMediaType(f"Content-Type must be {' or '.join(allowed)}")


def read_body(limit: int) -> bytes:
    """Read the whole body, refusing anything over ``limit`` bytes.

    Raises PayloadTooLarge when the declared or the actual length exceeds it.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    return b"".join(chunks)
