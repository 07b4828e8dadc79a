"""A verified message of the contract: the envelope members, typed.

Only ``Message.from_verified`` makes one, from a ``VerifiedJWS`` whose payload
passed the envelope and body schemas, so code that takes a ``Message`` may
trust its content. Must not import Flask or SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain.schemas import BodySchema, Catalog
from gateway.domain.wire.envelope import VerifiedJWS
from gateway.errors import BadRequest


def parse_utc(text: str) -> datetime:
    """An RFC 3339 UTC time the schema already admitted ('…Z')."""
    return datetime.fromisoformat(text)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time from a person or a file, with its zone, as UTC.

    Raises BadRequest when it is not one, or has no zone.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("use RFC 3339, e.g. 2026-11-23T10:00:00Z") from None
    if moment.tzinfo is None:
        raise BadRequest("give a time zone, e.g. Z")
    return moment.astimezone(UTC)


def digest(raw: bytes) -> str:
    """SHA-256 hex of the exact bytes received: the message_digest of the receipt."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    type: str
    version: int
    sender: str
    recipient: str
    v_number: str
    bsn: str | None
    issued_at: datetime
    body: dict[str, Any]
    raw: bytes
    kid: str
    schema: BodySchema

    @property
    def digest(self) -> str:
        return digest(self.raw)

    @classmethod
    def from_verified(cls, jws: VerifiedJWS, catalog: Catalog) -> Message:
        """Check the payload against the envelope and body schemas and type it.

        Raises SchemaViolation naming the failing pointers.
        """
        payload = jws.payload
        catalog.check_envelope(payload)
        schema = catalog.check_body(payload["type"], payload["version"], payload["body"])
        subject = payload["subject"]
        return cls(
            message_id=payload["message_id"].lower(),
            type=payload["type"],
            version=payload["version"],
            sender=payload["sender"],
            recipient=payload["recipient"],
            v_number=subject["v_number"],
            bsn=subject.get("bsn"),
            issued_at=parse_utc(payload["issued_at"]),
            body=payload["body"],
            raw=jws.raw,
            kid=jws.header.kid,
            schema=schema,
        )
