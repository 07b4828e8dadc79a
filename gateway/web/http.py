"""Request plumbing shared by the blueprints: body reading, clock, services.

The body is read here, never by Flask's ``get_json``: at most limit+1 bytes
(chunked bodies included, which a WSGI server may otherwise cut silently at
the limit), so an oversized body is a 413 and never a truncated message.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, request

from gateway.domain.message import parse_time
from gateway.domain.parties import Party
from gateway.domain.wire import certificate
from gateway.errors import BadRequest, PayloadTooLarge, Unauthenticated, UnsupportedMediaType
from gateway.service import access, limits
from gateway.service.services import Services, check_held

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
_CHUNK = 64 * 1024
_DRAIN_FACTOR = 16
"""A refused body is read to its end while it is at most this many times the limit"""
CLIENT_CERT = "X-Client-Cert"
"""the TLS front's verified client certificate, URL-escaped PEM (``$ssl_client_escaped_cert``)"""
CLIENT_VERIFY = "X-Client-Verify"
"""the front's verdict on it (``$ssl_client_verify``): only ``SUCCESS`` counts"""
FRONT_HEADER = "X-Gateway-Front"
"""the secret the front sends (GATEWAY_FRONT_SECRET): the headers above are the front's"""


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
    stream = request.stream
    if declared is not None and declared > limit:
        _discard(stream, limit * _DRAIN_FACTOR)
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        _discard(stream, limit * _DRAIN_FACTOR)
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    return b"".join(chunks)


def _discard(stream: Any, budget: int) -> None:
    """Read and drop the rest of a refused body, up to ``budget`` bytes.

    gunicorn answers "Connection: keep-alive" and then closes a connection
    whose body was left unread; a proxy that reuses it (nginx with upstream
    keep-alive) sees the next request on it fail and takes the instance for
    dead. Reading the rest keeps the connection sound. A body beyond the
    budget is left unread: the connection closes, which costs that sender
    most, and the budget bounds what a refusal costs us.
    """
    while budget > 0:
        chunk = stream.read(min(_CHUNK, budget))
        if not chunk:
            return
        budget -= len(chunk)


def caller() -> Party:
    """The authenticated party of this request, whatever its role.

    Raises Unauthenticated (see service.access). Whether the party may do what
    it asks is the service's question (``domain.policy``): the web only authenticates.
    Raises LogHeld while a witness shows the log rolled back: every answer to a party
    appends to the log (a read is audited), and what this database would append now is
    lost when the missing entries are restored.
    """
    check_held(services())
    party = access.identify(
        services(),
        request.headers.get("Authorization"),
        now(),
        trace_id(),
        transport_oin=transport_oin(),
    )
    limits.admit(services(), party.oin, now())
    return party


def transport_oin() -> str | None:
    """The OIN of the TLS client certificate the front verified; None in keys-only mode.

    In Digikoppeling mode the certificate headers count only from a trusted
    front: a peer address in GATEWAY_TRUSTED_FRONTS that also sends the
    GATEWAY_FRONT_SECRET. nginx sets all three headers itself, replacing any a
    client sent; a request that reached the gateway another way is refused
    here, whatever headers it carries (defence in depth: nginx already
    refused a connection without a verified certificate).

    Raises Unauthenticated when the request did not come through the front, or
    came without a verified certificate whose subject serialNumber is an OIN.
    """
    settings = services().settings
    if not settings.digikoppeling:
        return None
    assert settings.front_secret is not None  # config requires it in this mode
    sent = request.headers.get(FRONT_HEADER, "").encode()
    if request.remote_addr not in settings.trusted_fronts or not hmac.compare_digest(
        sent, settings.front_secret.encode()
    ):
        raise Unauthenticated(
            "this gateway takes parties' requests only through its Digikoppeling TLS front "
            "(mutual TLS with a PKIoverheid certificate)"
        )
    if request.headers.get(CLIENT_VERIFY) != "SUCCESS" or not request.headers.get(CLIENT_CERT):
        raise Unauthenticated("no verified TLS client certificate (Digikoppeling requires one)")
    return certificate.oin_from_escaped_pem(request.headers[CLIENT_CERT])


def flag_arg(name: str) -> bool:
    """A boolean query parameter: ``true`` or ``false``, absent is false.

    Raises BadRequest for any other spelling (``1``, ``yes``, ``True`` are not the
    OpenAPI document's boolean, and a flag misread changes what is recorded)."""
    raw = request.args.get(name)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise BadRequest(f"query parameter {name} must be true or false")


def int_arg(name: str, *, low: int = 0, high: int = 2**62, default: int | None = None) -> int:
    """A non-negative decimal query parameter within [low, high].

    Raises BadRequest when it is missing (without default), not plain digits, or out of range.
    """
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise BadRequest(f"query parameter {name} is required")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise BadRequest(f"query parameter {name} must be a non-negative integer")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name} must be within {low}..{high}")
    return value


def check_query(declared: frozenset[str]) -> None:
    """Raises BadRequest for a query parameter the operation does not take, or one given
    twice: refused, not ignored, so a typo (``limt=``) is never silently the default."""
    unknown = sorted(set(request.args) - declared)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        # named back only when it is a plain name (a typo: ``limt``); never a control
        # character, markup, or a value that could be someone's number
        name = f"{unknown[0]} " if _PLAIN_NAME.fullmatch(unknown[0]) else ""
        raise BadRequest(f"unknown query parameter {name}(this operation takes: {takes})")
    repeated = sorted(n for n in request.args if len(request.args.getlist(n)) > 1)
    if repeated:
        raise BadRequest(f"query parameter {repeated[0]} given more than once")


def time_arg(name: str) -> datetime | None:
    """An optional RFC 3339 query parameter with its zone, as UTC.

    Raises BadRequest when it is given and is not one.
    """
    raw = request.args.get(name)
    if raw is None:
        return None
    if not _RFC3339.fullmatch(raw):
        raise BadRequest(f"query parameter {name}: use RFC 3339, e.g. 2026-11-23T10:00:00Z")
    try:
        return parse_time(raw)
    except BadRequest as refused:
        raise BadRequest(f"query parameter {name}: {refused.detail}") from None


def request_arg(name: str) -> str:
    """A required query parameter. Raises BadRequest when it is missing."""
    value = request.args.get(name)
    if not value:
        raise BadRequest(f"query parameter {name} is required")
    return value
