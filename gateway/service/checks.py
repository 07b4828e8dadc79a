"""Intake's steps (2)-(7): everything decided about a message before the write lock.

What a refusal's audit entry may say is collected on the way (``Known``):
only what the signature has proven. Time is a parameter; nothing here reads
the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain import assignments, consent, rights
from gateway.domain.message import Message, digest
from gateway.domain.vocabulary import (
    CONSENT_DECLARATION,
    CONSENT_WITHDRAWAL,
    PROVIDER,
    PROVIDER_ASSIGNMENT,
    TYPES,
)
from gateway.domain.wire import envelope, jwk
from gateway.errors import Conflict, SchemaViolation, UnknownKey
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


@dataclass(frozen=True)
class Checked:
    """A message that passed steps (1)-(7); what the write transaction still checks."""

    message: Message
    subject: str
    assignment: assignments.Assignment | None
    fact: consent.Declaration | consent.Withdrawal | None


def check(
    unverified: envelope.UnverifiedJWS,
    session: IntakeSession,
    services: Services,
    now: datetime,
    known: Known,
) -> Checked | Outcome:
    """Steps (2)-(7), outside the write lock: a repeat's Outcome, or the checked message.

    Raises the GatewayError of the first step that refuses the message.
    """
    settings = services.settings

    # (2) key: looked up by the kid as a bound parameter; valid at *our* clock.
    key_record = session.find_key(unverified.header.kid)
    if key_record is None:
        raise UnknownKey()
    key_record.check_valid_at(now)

    # (3) signature.
    verified = envelope.verify(
        unverified, jwk.import_registered(key_record.kid, key_record.jwk), kid=key_record.kid
    )
    known.actor = key_record.oin

    # (4) the payload's sender owns the key.
    rights.check_sender(verified.payload, key_record.oin)
    if isinstance(verified.payload.get("message_id"), str):
        known.message_id = verified.payload["message_id"].lower()
    claimed_type = verified.payload.get("type")
    known.type = claimed_type if claimed_type in TYPES else None

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
    assignment = None
    if message.type == PROVIDER_ASSIGNMENT:
        assignment = assignments.from_message(message)
        provider = session.find_party(assignment.provider)
        if provider is None or provider.role != PROVIDER:
            raise SchemaViolation(
                [{"pointer": "/body/provider", "keyword": "registered-provider"}],
                detail="/body/provider is not a registered provider",
            )
    return Checked(message, subject, assignment, consent_fact(message))


def consent_fact(message: Message) -> consent.Declaration | consent.Withdrawal | None:
    """The consent fact a message records, if it is of a consent type."""
    if message.type == CONSENT_DECLARATION:
        return consent.Declaration.from_body(message.body)
    if message.type == CONSENT_WITHDRAWAL:
        return consent.Withdrawal.from_body(message.body)
    return None


def repeat(stored_digest: str, receipt: str, raw: bytes) -> Outcome:
    """The same bytes again get the original receipt; other bytes are a conflict.

    Raises Conflict when the bytes differ.
    """
    if stored_digest != digest(raw):
        raise Conflict()
    return Outcome(status=200, receipt=receipt)
