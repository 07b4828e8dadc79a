"""Audit entries: their fields, canonical bytes, leaf hashes and pseudonyms.

An entry holds no identifier of a person: the subject is a keyed HMAC of the
V-nummer (the key lives in the instance folder), and refusals carry no
content. The entry's bytes are RFC 8785 (JCS) canonical JSON, and its leaf
hash is SHA-256(0x00 ‖ bytes) as in RFC 9162 §2.1, so an auditor can recompute
both from the entry object alone. The Merkle tree over the leaves is its own
module. Must not import Flask or SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

from gateway.domain.audit import merkle

EVENTS = frozenset(
    {
        "message.accepted",
        "message.refused",
        "delivery.pulled",
        "delivery.acknowledged",
        "consent.recorded",
        "consent.withdrawn",
        "party.registered",
        "key.registered",
        "key.revoked",
        "audit.read",
        "notice.delivered",
        "delivery.reissued",
        "regie.read",
        "access.refused",
        "log.origin_changed",
        "log.restored",
        "signing_key.changed",
        "master_key.changed",
    }
)

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def trace_id_from(traceparent: str | None) -> str:
    """The trace id of a W3C traceparent header, or a new one if absent or invalid."""
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match["trace"] != "0" * 32:
            return match["trace"]
    return new_trace_id()


def pseudonym(key: bytes, v_number: str) -> str:
    """HMAC-SHA256 of the V-nummer, hex: the only form of a person in the log."""
    return hmac.new(key, v_number.encode("ascii"), hashlib.sha256).hexdigest()


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds: one spelling per instant.

    ``isoformat`` pads the year to four digits where ``strftime('%Y')`` does not
    (year 3 came out as ``3-07-03T…``, not RFC 3339).
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class Event:
    """What happened, before it has its place in the log."""

    event: str
    actor: str | None
    outcome: str
    trace_id: str
    processing_activity: str
    subject: str | None = None
    message_id: str | None = None
    type: str | None = None
    reason: str | None = None
    categories_delivered: Sequence[str] = field(default_factory=tuple)
    categories_withheld: Sequence[str] = field(default_factory=tuple)
    basis: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown audit event {self.event}")


def entry(index: int, time: datetime, ev: Event) -> dict[str, Any]:
    """The entry object of the contract, every member present (null when not applicable)."""
    return {
        "index": index,
        "time": format_time(time),
        "event": ev.event,
        "actor": ev.actor,
        "subject": ev.subject,
        "message_id": ev.message_id,
        "type": ev.type,
        "categories_delivered": sorted(ev.categories_delivered),
        "categories_withheld": sorted(ev.categories_withheld),
        "basis": dict(sorted(ev.basis.items())),
        "processing_activity": ev.processing_activity,
        "trace_id": ev.trace_id,
        "span_id": secrets.token_hex(8),
        "outcome": ev.outcome,
        "reason": ev.reason,
    }


def canonical(obj: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    return bytes(rfc8785.dumps(obj))


_SORTED_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_entry(obj: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of an audit entry, at C speed.

    An entry holds only strings, integers below 2^53, null, lists of strings
    and string-to-string maps with ASCII keys. For those, the standard
    library's sorted compact JSON is byte for byte RFC 8785 (same escapes,
    same key order); a property test holds the two to that.
    """
    return _SORTED_COMPACT.encode(obj).encode("utf-8")


def leaf_hash(entry_bytes: bytes) -> str:
    """RFC 9162 §2.1.1 leaf hash, hex."""
    return merkle.leaf_hash(entry_bytes).hex()
