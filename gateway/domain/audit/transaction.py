"""FSC transaction ids (``Fsc-Transaction-Id``) and the trace id they become.

FSC logging (Logius ``fsc-logging``, Specification, Inway/Outway) has every
hop record the transaction id the outway made, and the Digikoppeling FSC
profile makes it a UUIDv7. A UUID is 16 bytes, the size of a W3C / LDV
``trace_id``: the gateway keeps the transaction id as the trace id of the
request's audit entries and LDV records (hyphens off), so the entry's fixed
member set and its Merkle leaf are unchanged and the id can be followed from
the caller's FSC log into ours. Pure: no Flask, no I/O.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime

from gateway.errors import BadRequest

HEADER = "Fsc-Transaction-Id"

_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def parse(header: str | None) -> str | None:
    """The transaction id of an ``Fsc-Transaction-Id`` header, lower case; None if absent.

    Raises BadRequest for anything but a UUIDv7 in its hyphenated form, as an FSC
    inway refuses one (INVALID_LOG_RECORD_ID, 400): a trace id made of garbage would
    tie our records to a transaction nobody logged.
    """
    if header is None or header == "":
        return None
    value = header.strip().lower()
    if not _UUID7.fullmatch(value):
        raise BadRequest(f"{HEADER} must be a UUIDv7 (8-4-4-4-12 hex digits, version 7)")
    return value


def trace_id(transaction_id: str) -> str:
    """The trace id (32 hex digits) a transaction id is kept as: its 16 bytes."""
    return transaction_id.replace("-", "")


def new(now: datetime) -> str:
    """A fresh transaction id as an FSC outway makes one (RFC 9562 UUIDv7): 48 bits of
    Unix milliseconds, the version, the variant, 74 random bits. For what the gateway
    and the connectors send onwards when no outway made one for them. ``now`` must be
    aware (a naive time would be taken as local)."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | (0x7 << 76) | (secrets.randbits(12) << 64)
    value |= (0b10 << 62) | secrets.randbits(62)
    return str(uuid.UUID(int=value))
