"""One pass of a message through the gateway, step by numbered step.

    (0) the audit log is being checkpointed (else 503: fail closed)
    (1) parse: the envelope's profile gate
    (2) key: registered, valid at receipt time
    (3) signature
    (4) sender owns the key
    (5) schemas: envelope and body
    (6) idempotency and freshness
    (7) rights: role, recipient, assignment, consistency
    (8) store, sealed, with the audit entry, in one transaction
    (9) signed receipt (made inside that transaction, sent after it commits)

A refusal at any step is entered in the audit log without content: who (once
the signature proves it), which message id and type (once signed), the
problem code. Time is a parameter; nothing here reads the clock. Must not
import Flask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.config import Settings
from gateway.domain import assignments, consent, rights
from gateway.domain.audit import events
from gateway.domain.message import Message, digest
from gateway.domain.schemas import Catalog
from gateway.domain.wire import envelope, jwk
from gateway.errors import (
    Conflict,
    GatewayError,
    SchemaViolation,
    ServiceUnavailable,
    UnknownKey,
)
from gateway.service.checkpointer import Checkpointer
from gateway.service.groupcommit import GroupCommit
from gateway.storage.auditlog import AuditLog
from gateway.storage.store import (
    AuditRef,
    Intake,
    Session,
    Store,
    StoredMessage,
)

RECEIPT_TYP = envelope.RECEIPT_TYP


@dataclass(frozen=True)
class Services:
    """Everything a request needs, built once per process."""

    settings: Settings
    catalog: Catalog
    store: Store
    signer: envelope.Signer  # the gateway's own key: receipts, checkpoints, tokens
    auditlog: AuditLog
    checkpointer: Checkpointer | None = None  # the serving processes' signer and guard
    group: GroupCommit[_Pending, Outcome | GatewayError] = field(default_factory=GroupCommit)

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return self.signer.sign(payload, typ)


@dataclass(frozen=True)
class Outcome:
    status: int  # 202 new, 200 the same bytes again
    receipt: str


@dataclass
class _Known:
    """What a refusal entry may say: only what the signature has proven."""

    actor: str | None = None
    message_id: str | None = None
    type: str | None = None
    subject: str | None = None


def accept(raw: bytes, *, services: Services, now: datetime, trace_id: str) -> Outcome:
    """Take one message in, or refuse it and enter the refusal in the audit log.

    Raises the GatewayError of the first step that refuses the message.
    """
    _check_checkpoints(services, now)
    known = _Known()
    try:
        return _accept(raw, services, now, trace_id, known)
    except ServiceUnavailable:
        raise  # nothing was decided about the message; the sender retries
    except GatewayError as error:
        refuse(services, now, trace_id, error, known)
        raise


def accept_batch(
    items: Sequence[bytes | GatewayError], *, services: Services, now: datetime, trace_id: str
) -> list[Outcome | GatewayError]:
    """Take several messages in: one outcome or refusal per item, in order.

    Steps (1)-(7) run per item outside the write lock; then one transaction
    holds every accepted item with its audit entry and every refusal's entry,
    so the batch costs one lock and one durable commit. An item the caller
    already found unreadable arrives as its GatewayError and is audited like
    any refusal. One bad item never sinks the others; a busy or unreachable
    database (ServiceUnavailable) sinks the whole batch, and nothing of it is
    kept, so the sender retries it whole.
    """
    _check_checkpoints(services, now)
    results: list[Outcome | GatewayError | _Checked] = []
    knowns = [_Known() for _ in items]
    parsed = [_parse_item(item) for item in items]
    with services.store.session() as session:
        # One query for every id the batch claims, for step (6) to answer from.
        session.prefetch_messages(
            [
                p.payload["message_id"].lower()
                for p in parsed
                if isinstance(p, envelope.UnverifiedJWS)
                and isinstance(p.payload.get("message_id"), str)
            ]
        )
        for item, known in zip(parsed, knowns, strict=True):
            if isinstance(item, GatewayError):
                results.append(item)
                continue
            try:
                results.append(_check(item, session, services, now, known))
            except ServiceUnavailable:
                raise
            except GatewayError as error:
                results.append(error)
        checked = [r for r in results if isinstance(r, _Checked)]
        ids = [c.message.message_id for c in checked]
        with session.intake([c.subject for c in checked], ids) as tx:
            # Committed since the check, by another request: authoritative under the lock.
            stored = tx.find_messages(ids)
            for position, (result, known) in enumerate(zip(results, knowns, strict=True)):
                if isinstance(result, _Checked):
                    results[position] = result = _commit_in_batch(
                        tx, result, stored, services, now, trace_id
                    )
                if isinstance(result, GatewayError):
                    tx.append(_refusal(trace_id, result, known), now)
    return [r for r in results if not isinstance(r, _Checked)]


def _parse_item(item: bytes | GatewayError) -> envelope.UnverifiedJWS | GatewayError:
    """(1) for one batch item: the profile gate, or the error that refuses it."""
    if isinstance(item, GatewayError):
        return item
    try:
        return envelope.parse(item, typ=envelope.MESSAGE_TYP)
    except GatewayError as error:
        return error


def _commit_in_batch(
    tx: Intake,
    checked: _Checked,
    stored: dict[str, StoredMessage],
    services: Services,
    now: datetime,
    trace_id: str,
) -> Outcome | GatewayError:
    """One checked item inside the batch's transaction; earlier items count for it."""
    message = checked.message
    earlier = stored.get(message.message_id)
    try:
        if earlier is not None:  # a repeat, in this batch or from elsewhere
            return _repeat(earlier.digest, earlier.receipt, message.raw)
        outcome = _commit(tx, checked, services, now, trace_id)
    except GatewayError as error:
        return error
    stored[message.message_id] = StoredMessage(message.message_id, message.digest, outcome.receipt)
    return outcome


def _check_checkpoints(services: Services, now: datetime) -> None:
    """(0) fail closed: no intake while entries wait too long for a signed checkpoint."""
    if services.checkpointer is not None and services.checkpointer.overdue(now):
        raise ServiceUnavailable("audit checkpoints overdue; intake paused", retry_after=30)


def _refusal(trace_id: str, error: GatewayError, known: _Known | None) -> events.Event:
    known = known or _Known()
    return events.Event(
        event="message.refused",
        actor=known.actor,
        outcome="refused",
        trace_id=trace_id,
        processing_activity=(events.PROCESSING_ACTIVITY.get(known.type or "", events.INTAKE)),
        subject=known.subject,
        message_id=known.message_id,
        type=known.type,
        reason=error.code,
    )


def refuse(
    services: Services,
    now: datetime,
    trace_id: str,
    error: GatewayError,
    known: _Known | None = None,
) -> None:
    """Enter a refusal in the audit log, without any of the message's content."""
    services.store.record_event(_refusal(trace_id, error, known), now)


def _accept(raw: bytes, services: Services, now: datetime, trace_id: str, known: _Known) -> Outcome:
    # (1) parse: compact JWS, strict header and strict JSON, before any library.
    unverified = envelope.parse(raw, typ=envelope.MESSAGE_TYP)
    with services.store.session() as session:  # one connection for all that follows
        claimed = [unverified.payload.get(m) for m in ("message_id", "sender", "recipient")]
        if all(isinstance(value, str) and len(value) <= 64 for value in claimed):
            # What steps (2), (6) and (7) read, in one round trip. Unverified
            # claims, used only as lookup keys (bound, never trusted); a
            # payload that claims no such strings reads step by step instead.
            message_id, sender, recipient = (str(value) for value in claimed)
            session.prefetch(unverified.header.kid, message_id.lower(), sender, recipient)
        checked = _check(unverified, session, services, now, known)
        if isinstance(checked, Outcome):
            return checked
        # (8)-(9) in a transaction shared with the requests that wait meanwhile.
        result = services.group.submit(
            _Pending(checked, now, trace_id),
            lambda group: _commit_group(session, group, services),
        )
    if isinstance(result, GatewayError):
        raise result
    return result


@dataclass(frozen=True, slots=True)
class _Pending:
    """A checked message waiting for the write lock, with its own clock and trace."""

    checked: _Checked
    now: datetime
    trace_id: str


def _commit_group(
    session: Session, group: Sequence[_Pending], services: Services
) -> list[Outcome | GatewayError]:
    """One transaction for the messages of concurrent requests, each with its own result.

    Ids stored meanwhile (by another process, or earlier in the group) are
    read under the lock, so a repeat gets the original receipt and a clash a
    conflict, as in a batch.
    """
    ids = [p.checked.message.message_id for p in group]
    with session.intake([p.checked.subject for p in group], ids) as tx:
        stored = tx.find_messages(ids)
        return [_commit_in_batch(tx, p.checked, stored, services, p.now, p.trace_id) for p in group]


@dataclass(frozen=True)
class _Checked:
    """A message that passed steps (1)-(7); what the write transaction still checks."""

    message: Message
    subject: str
    assignment: assignments.Assignment | None
    fact: consent.Declaration | consent.Withdrawal | None


def _check(
    unverified: envelope.UnverifiedJWS,
    session: Session,
    services: Services,
    now: datetime,
    known: _Known,
) -> _Checked | Outcome:
    """Steps (2)-(7), outside the write lock: a repeat's Outcome, or the checked message."""
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
    known.type = claimed_type if claimed_type in events.PROCESSING_ACTIVITY else None

    # (5) schemas: the envelope members, then the body of its type and version.
    message = Message.from_verified(verified, services.catalog)
    subject = known.subject = services.store.pseudonym(message.v_number)

    # (6) idempotency first (a retry of an accepted message gets its receipt
    #     even after the replay window), then freshness.
    stored = session.find_message(message.message_id)
    if stored is not None:
        return _repeat(stored.digest, stored.receipt, message.raw)
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
    if message.type == "provider-assignment":
        assignment = assignments.from_message(message)
        provider = session.find_party(assignment.provider)
        if provider is None or provider.role != "provider":
            raise SchemaViolation(
                [{"pointer": "/body/provider", "keyword": "registered-provider"}],
                detail="/body/provider is not a registered provider",
            )
    return _Checked(message, subject, assignment, _consent_fact(message))


def _commit(
    tx: Intake, checked: _Checked, services: Services, now: datetime, trace_id: str
) -> Outcome:
    """The checks that need the lock, then (8) store and (9) the signed receipt."""
    message, fact = checked.message, checked.fact

    # (8) store, sealed, with its audit entry; (9) the receipt, signed inside the
    #     transaction because it names the audit index, sent after the commit.
    def make_receipt(ref: AuditRef) -> str:
        return services.sign(
            {
                "message_id": message.message_id,
                "status": "accepted",
                "received_at": events.format_time(now),
                "message_digest": message.digest,
                "audit": {"index": ref.index, "leaf_hash": ref.leaf_hash},
            },
            RECEIPT_TYP,
        )

    # Checked under the lock: an assignment ended, or a declaration recorded or
    # withdrawn, by a message committed a moment ago counts for this one.
    if message.type == "progress-report":
        history = tx.assignment_history(message.recipient, message.v_number)
        rights.check_assigned(history, message.sender, now)
    if fact is not None:
        declared = tx.declaration_subject(message.recipient, fact.declaration_id)
        if isinstance(fact, consent.Declaration):
            rights.check_new_declaration(declared is not None)
        else:
            withdrawn = tx.is_withdrawn(message.recipient, fact.declaration_id)
            rights.check_withdrawal(declared, checked.subject, withdrawn)
    stored = tx.record(message, now, trace_id, make_receipt, checked.assignment, fact)
    return Outcome(status=202, receipt=stored.receipt)


def _consent_fact(message: Message) -> consent.Declaration | consent.Withdrawal | None:
    if message.type == "consent-declaration":
        return consent.Declaration.from_body(message.body)
    if message.type == "consent-withdrawal":
        return consent.Withdrawal.from_body(message.body)
    return None


def _repeat(stored_digest: str, receipt: str, raw: bytes) -> Outcome:
    """The same bytes again get the original receipt; other bytes are a conflict."""
    if stored_digest != digest(raw):
        raise Conflict()
    return Outcome(status=200, receipt=receipt)
