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
problem code. Time is a parameter; nothing here reads the clock. What only a
message's type decides, before the lock, under it and in its writes, is its
handler's (``service.handlers``, found through ``handlers.registry``): this
module does the steps every type shares and never branches on a type. Must
not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain import rights
from gateway.domain.audit.events import Event, format_time
from gateway.domain.message import Message
from gateway.domain.records import StoredMessage
from gateway.domain.vocabulary import INTAKE, TYPES
from gateway.domain.wire import envelope, sdprofile
from gateway.errors import (
    Conflict,
    GatewayError,
    LogHeld,
    NotAuthorised,
    RateLimited,
    ServiceUnavailable,
)
from gateway.service import isolation, limits
from gateway.service.checks import Known, Outcome, check, repeat
from gateway.service.handlers.base import Accepted, Checked, Locked, event
from gateway.service.handlers.registry import handler
from gateway.service.ports import IntakeSession, IntakeTx
from gateway.service.services import Services

__all__ = ["Outcome", "accept", "accept_batch", "accept_told", "refuse"]


def accept(
    raw: bytes,
    *,
    services: Services,
    now: datetime,
    trace_id: str,
    transport_oin: str | None = None,
) -> Outcome:
    """Take one message in, or refuse it and enter the refusal in the audit log.

    ``transport_oin``: the verified TLS client certificate's OIN (Digikoppeling),
    bound to the sender in step (4); None in keys-only mode.

    Raises the GatewayError of the first step that refuses the message.
    """
    _check_checkpoints(services, now)
    known = Known()
    try:
        return _settled(services, _accept(raw, services, now, trace_id, known, transport_oin))
    except (ServiceUnavailable, RateLimited):
        raise  # nothing was decided about the message; the sender retries
    except GatewayError as error:
        refuse(services, now, trace_id, error, known)
        raise


def accept_batch(
    items: Sequence[bytes | GatewayError],
    *,
    services: Services,
    now: datetime,
    trace_id: str,
    transport_oin: str | None = None,
) -> list[Outcome | GatewayError]:
    """Take several messages in: one outcome or refusal per item, in order.

    Steps (1)-(7) run per item outside the write lock; then one transaction
    holds every accepted item with its audit entry and every refusal's entry,
    so the batch costs one lock and one durable commit. An item the caller
    already found unreadable arrives as its GatewayError and is audited like
    any refusal. One bad item never sinks the others; a busy or unreachable
    database (ServiceUnavailable) sinks the whole batch, and nothing of it is
    kept, so the sender retries it whole. ``transport_oin`` binds every item's
    sender to the connection's certificate, as in ``accept``.
    """
    _check_checkpoints(services, now)
    results: list[Outcome | GatewayError | Checked[Any]] = []
    knowns = [Known() for _ in items]
    parsed = [_parse_item(item) for item in items]
    with services.store.intake.session() as session:
        # One query for every id the batch claims, for step (6) to answer from.
        session.prefetch_messages(
            [
                p.payload["message_id"].lower()
                for p in parsed
                if isinstance(p, envelope.UnverifiedJWS | sdprofile.UnverifiedSD)
                and isinstance(p.payload.get("message_id"), str)
            ]
        )
        for item, known in zip(parsed, knowns, strict=True):
            if isinstance(item, GatewayError):
                results.append(item)
                continue
            try:
                results.append(check(item, session, services, now, known, transport_oin))
            except ServiceUnavailable:
                raise
            except GatewayError as error:
                results.append(error)
        checked = [r for r in results if isinstance(r, Checked)]
        for sender, count in Counter(c.message.sender for c in checked).items():
            # over the limit: none of it is kept
            limits.admit(services, sender, now, limits.batch_cost(count))
        pairs = list(zip(results, knowns, strict=True))
        written = isolation.isolated(
            pairs,
            lambda part: _write_batch(session, part, services, now, trace_id),
            failed=lambda _item, error: error,
        )
    for result, (before, known) in zip(written, pairs, strict=True):
        if isinstance(before, Checked) and type(result) is GatewayError:
            refuse(services, now, trace_id, result, known)  # its write failed alone: say so
    if any(isinstance(r, Outcome) and r.status == 200 for r in written):
        services.store.intake.settle()
    return written


def _settled(services: Services, outcome: Outcome) -> Outcome:
    """A repeat's receipt once its message is as durable as a new one's (``settle``: a row
    shows on a primary while its commit still waits for the synchronous standby)."""
    if outcome.status == 200:
        services.store.intake.settle()
    return outcome


def _write_batch(
    session: IntakeSession,
    part: Sequence[tuple[Outcome | GatewayError | Checked[Any], Known]],
    services: Services,
    now: datetime,
    trace_id: str,
) -> list[Outcome | GatewayError]:
    """One transaction for a part of a batch: its accepted items and every refusal's entry."""
    checked = [result for result, _ in part if isinstance(result, Checked)]
    ids = [c.message.message_id for c in checked]
    written: list[Outcome | GatewayError] = []
    with session.intake([c.subject for c in checked], ids) as tx:
        # Committed since the check, by another request: authoritative under the lock.
        stored = tx.messages.find(ids)
        for result, known in part:
            if isinstance(result, Checked):
                result = _commit_one(tx, result, stored, services, now, trace_id)
            if isinstance(result, GatewayError):
                tx.append(_refusal(trace_id, result, known), now)
            written.append(result)
    return written


def accept_told(message: Message, *, services: Services, now: datetime, trace_id: str) -> Outcome:
    """Take in a message the gateway wrote down from what an authenticated party told it
    over its own protocol (DUO's notification): no JWS of the party's to check, so
    steps (1)-(5) were the caller's; (0), (6) by message id alone, (7) and (8)-(9) as
    for every message. A message id taken before gets that message's receipt (200). The
    web authenticated the caller and spent its token (not again here: it cost DUO two).

    Raises the GatewayError of the step that refuses it (entered in the log).
    """
    _check_checkpoints(services, now)
    subject = services.pseudonym(message.v_number)
    known = Known(message.sender, message.message_id, message.type, subject)
    try:
        with services.store.intake.session() as session:
            stored = session.find_message(message.message_id)
            if stored is not None:
                return _settled(services, Outcome(status=200, receipt=stored.receipt))
            parties = session.find_parties(message.sender, message.recipient)
            sender, recipient = parties.get(message.sender), parties.get(message.recipient)
            if sender is None:
                raise NotAuthorised("the sender is not a registered party")
            rights.check_rights(message, sender, recipient)
            checked = Checked(message, subject, handler(message.type).check(message, session))
            result = services.group.submit(
                _Pending(checked, now, trace_id),
                lambda group: _commit_group(session, group, services),
            )
    except (ServiceUnavailable, RateLimited):
        raise
    except GatewayError as error:
        refuse(services, now, trace_id, error, known)
        raise
    if isinstance(result, GatewayError):
        refuse(services, now, trace_id, result, known)
        raise result
    assert isinstance(result, Outcome)
    return result


def refuse(
    services: Services,
    now: datetime,
    trace_id: str,
    error: GatewayError,
    known: Known | None = None,
) -> None:
    """Enter a refusal in the audit log, without any of the message's content."""
    with services.store.write() as tx:
        tx.append([_refusal(trace_id, error, known)], now)


def _parse_item(
    item: bytes | GatewayError,
) -> envelope.UnverifiedJWS | sdprofile.UnverifiedSD | GatewayError:
    """(1) for one batch item: the profile gate, or the error that refuses it."""
    if isinstance(item, GatewayError):
        return item
    try:
        return sdprofile.parse_message(item)
    except GatewayError as error:
        return error


def _check_checkpoints(services: Services, now: datetime) -> None:
    """(0) fail closed: no intake while entries wait too long for a signed checkpoint, or
    while a witness holds more of the log than this database has (a restored backup)."""
    if services.checkpointer is None:
        return
    if services.checkpointer.overdue(now):
        raise ServiceUnavailable("audit checkpoints overdue; intake paused", retry_after=30)
    held = services.checkpointer.held()
    if held is not None:
        raise LogHeld(held)


def _refusal(trace_id: str, error: GatewayError, known: Known | None) -> Event:
    known = known or Known()
    return Event(
        event="message.refused",
        actor=known.actor,
        outcome="refused",
        trace_id=trace_id,
        processing_activity=TYPES[known.type].activity if known.type else INTAKE,
        subject=known.subject,
        message_id=known.message_id,
        type=known.type,
        reason=error.code,
    )


def _accept(
    raw: bytes,
    services: Services,
    now: datetime,
    trace_id: str,
    known: Known,
    transport_oin: str | None,
) -> Outcome:
    # (1) parse: compact JWS (or a version-2 profile's SD-JWT), strict header and strict
    #     JSON, before any library.
    unverified = sdprofile.parse_message(raw)
    with services.store.intake.session() as session:  # one connection for all that follows
        claimed = [unverified.payload.get(m) for m in ("message_id", "sender", "recipient")]
        if all(isinstance(value, str) and len(value) <= 64 for value in claimed):
            # What steps (2), (6) and (7) read, in one round trip. Unverified
            # claims, used only as lookup keys (bound, never trusted); a
            # payload that claims no such strings reads step by step instead.
            message_id, sender, recipient = (str(value) for value in claimed)
            session.prefetch(unverified.header.kid, message_id.lower(), sender, recipient)
        checked = check(unverified, session, services, now, known, transport_oin)
        if isinstance(checked, Outcome):
            return checked
        limits.admit(services, checked.message.sender, now)  # verified: its own tokens
        # (8)-(9) in a transaction shared with the requests that wait meanwhile.
        result = services.group.submit(
            _Pending(checked, now, trace_id),
            lambda group: _commit_group(session, group, services),
        )
    if isinstance(result, GatewayError):
        raise result
    assert isinstance(result, Outcome)
    return result


@dataclass(frozen=True, slots=True)
class _Pending:
    """A checked message waiting for the write lock, with its own clock and trace."""

    checked: Checked[Any]
    now: datetime
    trace_id: str


def _commit_group(
    session: IntakeSession, group: Sequence[_Pending], services: Services
) -> list[Outcome | GatewayError]:
    """One transaction for the messages of concurrent requests, each with its own result.

    Ids stored meanwhile (by another process, or earlier in the group) are
    read under the lock, so a repeat gets the original receipt and a clash a
    conflict, as in a batch.
    """
    return isolation.isolated(
        group, lambda part: _write_group(session, part, services), failed=lambda _p, error: error
    )


def _write_group(
    session: IntakeSession, group: Sequence[_Pending], services: Services
) -> list[Outcome | GatewayError]:
    """One transaction for (part of) a group; it commits before this returns."""
    ids = [p.checked.message.message_id for p in group]
    with session.intake([p.checked.subject for p in group], ids) as tx:
        stored = tx.messages.find(ids)
        return [_commit_one(tx, p.checked, stored, services, p.now, p.trace_id) for p in group]


def _commit_one(
    tx: IntakeTx,
    checked: Checked[Any],
    stored: dict[str, StoredMessage],
    services: Services,
    now: datetime,
    trace_id: str,
) -> Outcome | GatewayError:
    """One checked message inside a shared transaction; earlier ones count for it."""
    message = checked.message
    earlier = stored.get(message.message_id)
    try:
        if earlier is not None:  # a repeat, in this batch or from elsewhere
            return repeat(earlier.digest, earlier.receipt, message.raw)
        outcome = _commit(tx, checked, services, now, trace_id)
    except GatewayError as error:
        return error
    stored[message.message_id] = StoredMessage(message.message_id, message.digest, outcome.receipt)
    return outcome


def _check_locked(tx: IntakeTx, checked: Checked[Any], now: datetime) -> Locked[Any]:
    """The checks that need the lock, against what is committed (and earlier in this
    transaction): a profile that moved the newcomer, an assignment ended, a plan or a
    declaration recorded or withdrawn a moment ago counts for this message. The
    placement of a steered type and the erased newcomer are every type's; the rest is
    its handler's.

    Raises the GatewayError of the rule the message breaks.
    """
    message, subject = checked.message, checked.subject
    if TYPES[message.type].steered:
        rights.check_placed(tx.placements.current(subject), message.recipient)
    found = handler(message.type).check_locked(tx, checked, now)
    if tx.messages.is_erased(subject):
        raise Conflict(
            "this newcomer's data was erased; the gateway takes no more of it",
            reason="subject-erased",
        )
    return found


def _commit(
    tx: IntakeTx, checked: Checked[Any], services: Services, now: datetime, trace_id: str
) -> Outcome:
    """The checks that need the lock, then (8) store and (9) the signed receipt.

    Raises the GatewayError of the rule the message breaks (``_check_locked``).
    """
    message, subject = checked.message, checked.subject
    found = _check_locked(tx, checked, now)
    # (8) store, sealed, with its audit entry; (9) the receipt, signed inside the
    #     transaction because it names the audit index, sent after the commit.
    accepted = event("message.accepted", "accepted", message, subject, trace_id, found.note)
    ref = tx.append(accepted, now)
    receipt = services.sign(
        {
            "message_id": message.message_id,
            "status": "accepted",
            "received_at": format_time(now),
            "message_digest": message.digest,
            "audit": {"index": ref.index, "leaf_hash": ref.leaf_hash},
        },
        envelope.RECEIPT_TYP,
    )
    tx.messages.add(message, subject, now, ref.index, receipt)
    at = Accepted(ref.index, now, services, trace_id)
    handler(message.type).write(tx, checked, found.found, at)  # the type's own rows
    if TYPES[message.type].delivered:
        tx.messages.deliver(message.recipient, message.message_id, subject, ref.index, now)
    return Outcome(status=202, receipt=receipt)
