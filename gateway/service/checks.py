"""Intake's steps (2)-(7): everything decided about a message before the write lock.

What a refusal's audit entry may say is collected on the way (``Known``):
only what the signature has proven. Time is a parameter; nothing here reads
the clock. What only a message's type decides (an assignment's provider, a
consent fact) is its handler's (``service.handlers``): found through the
registry, never by a branch on the type here. Must not import storage,
Flask or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain import rights
from gateway.domain.message import Message, digest
from gateway.domain.vocabulary import TYPES
from gateway.domain.wire import jwk, sdprofile
from gateway.domain.wire.envelope import UnverifiedJWS
from gateway.errors import Conflict, UnknownKey
from gateway.service.handlers.base import Checked
from gateway.service.handlers.registry import handler
from gateway.service.ports import IntakeSession
from gateway.service.services import Services


@dataclass(frozen=True)
class Outcome:
    status: int  # 202 new, 200 the same bytes again
    receipt: str


@dataclass
class Known:
    """What a refusal entry may say: only what the signature has proven."""

    actor: str | None = None
    message_id: str | None = None
    type: str | None = None
    subject: str | None = None


def check(
    unverified: UnverifiedJWS | sdprofile.UnverifiedSD,
    session: IntakeSession,
    services: Services,
    now: datetime,
    known: Known,
    transport_oin: str | None = None,
) -> Checked[Any] | Outcome:
    """Steps (2)-(7), outside the write lock: a repeat's Outcome, or the checked message.

    ``transport_oin``: the OIN of the TLS client certificate the front verified
    (Digikoppeling), which must be the one the sender registered (step 4).

    Raises the GatewayError of the first step that refuses the message.
    """
    settings = services.settings

    # (2) key: looked up by the kid as a bound parameter; valid at *our* clock.
    key_record = session.find_key(unverified.header.kid)
    if key_record is None:
        raise UnknownKey()
    key_record.check_valid_at(now)

    # (3) signature (and of a version-2 profile, COA's disclosures: RFC 9901 §7.1).
    verified = sdprofile.verify_message(
        unverified, jwk.import_registered(key_record.kid, key_record.jwk), kid=key_record.kid
    )
    known.actor = key_record.oin

    # (4) the payload's sender owns the key, and (Digikoppeling) the connection too.
    rights.check_sender(verified.payload, key_record.oin)
    if transport_oin is not None:
        _check_transport(session, key_record.oin, transport_oin)
    if isinstance(verified.payload.get("message_id"), str):
        known.message_id = verified.payload["message_id"].lower()
    claimed_type = verified.payload.get("type")
    known.type = claimed_type if isinstance(claimed_type, str) and claimed_type in TYPES else None

    # (5) schemas: the envelope members, then the body of its type and version.
    message = Message.from_verified(verified, services.catalog)
    subject = known.subject = services.pseudonym(message.v_number)

    # (6) idempotency first (a retry of an accepted message gets its receipt
    #     even after the replay window), then freshness.
    stored = session.find_message(message.message_id)
    if stored is not None:
        return repeat(stored.digest, stored.receipt, message.raw)
    rights.check_fresh(message.issued_at, now, settings.replay_window, settings.future_skew)

    # (7) rights. Parties are read before the write lock; they do not change roles.
    parties = session.find_parties(message.sender, message.recipient)
    sender, recipient = parties.get(message.sender), parties.get(message.recipient)
    if sender is None:  # a key always has its party; guard against manual edits
        raise UnknownKey()
    rights.check_rights(message, sender, recipient)
    assert recipient is not None  # check_rights refused otherwise
    rights.check_consistency(message, recipient)
    facts = handler(message.type).check(message, session)  # the type's own rules
    return Checked(message, subject, facts)


def _check_transport(session: IntakeSession, sender: str, transport_oin: str) -> None:
    """Raises NotAuthorised when the sender's registration names another certificate
    OIN than the connection's: its key signed, but another organisation connected."""
    party = session.find_party(sender)
    if party is None:  # a key always has its party; guard against manual edits
        raise UnknownKey()
    party.check_transport(transport_oin, "sender")


def repeat(stored_digest: str, receipt: str, raw: bytes) -> Outcome:
    """The same bytes again get the original receipt; other bytes are a conflict.

    Raises Conflict when the bytes differ.
    """
    if stored_digest != digest(raw):
        raise Conflict()
    return Outcome(status=200, receipt=receipt)
