"""What a consent fact does to what the grantee was already handed.

A withdrawal sends the grantee a notice naming the categories it may no
longer use and the deliveries that carried them (profile v1.1). A
declaration is its mirror (profile v1.2, "consent given later still brings
the data"): every message the grantee was given and acknowledged about the
newcomer, whose body the new declaration now releases more of, goes into
its inbox once more, the same message with ``supersedes`` naming the
earlier deliveries, and is cut at the pull like every delivery. Without it
an acknowledged delivery was never handed out again, and a consent given a
day after the pull never brought anything.

Both run inside intake's transaction, under the lock, with the fact just
recorded, called by the consent types' handlers (``service.handlers``).
Must not import Flask or SQL.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import consent
from gateway.domain.audit.events import Event
from gateway.domain.message import Message
from gateway.domain.records import Notice
from gateway.domain.vocabulary import CONSENT_WITHDRAWN, TYPES
from gateway.service.deliveries import cut_body, payload_of
from gateway.service.ports import IntakeTx
from gateway.service.services import Services

REISSUED = "delivery.reissued"
"""The audit event of a message put in an inbox once more after a consent"""


def notify(
    tx: IntakeTx,
    services: Services,
    fact: consent.Withdrawal,
    message: Message,
    subject: str,
    now: datetime,
    trace_id: str,
) -> None:
    """The grantee's notice: what may no longer leave, and which deliveries already carried it."""
    declarations, withdrawals = tx.consent.history(message.recipient, subject).facts
    withdrawn = next(d for d in declarations if d.declaration_id == fact.declaration_id)
    policy = services.catalog.policy
    categories = consent.no_other_basis(withdrawn, declarations, withdrawals, policy, now)
    affected = tx.notices.carried(message.recipient, fact.declaration_id, categories)
    notice = Notice(fact.declaration_id, fact.withdrawn_at, categories, tuple(affected))
    event = Event(
        event="notice.delivered",
        actor=message.recipient,
        outcome="ok",
        trace_id=trace_id,
        subject=subject,
        message_id=message.message_id,
        type=CONSENT_WITHDRAWN,
        categories_withheld=categories,
        reason=f"declaration:{fact.declaration_id}",
        processing_activity=TYPES[message.type].activity,
    )
    tx.notices.add(message, subject, tx.append(event, now).index, now, notice)


def release(
    tx: IntakeTx,
    services: Services,
    fact: consent.Declaration,
    message: Message,
    subject: str,
    now: datetime,
    trace_id: str,
) -> None:
    """Hand out once more what the new declaration releases to its grantee.

    A message counts when, judged ``now``, the consent history with the
    declaration lets more of its body leave than the history without it. Each
    one is an audit entry (``delivery.reissued``, naming the categories it
    releases), whose index orders the new delivery in the inbox.
    """
    grantee = message.recipient
    handed = tx.messages.handed_out(grantee, subject)
    if not handed:
        return
    declarations, withdrawals = tx.consent.history(grantee, subject).facts
    before = [d for d in declarations if d.declaration_id != fact.declaration_id]
    for item in handed:
        payload = payload_of(item.raw)
        if not TYPES[payload["type"]].delivered or payload["sender"] not in fact.sources:
            continue
        now_cut = cut_body(services, grantee, payload, declarations, withdrawals, now)
        old_cut = cut_body(services, grantee, payload, before, withdrawals, now)
        released = sorted(set(now_cut.delivered) - set(old_cut.delivered))
        if not released:
            continue
        event = Event(
            event=REISSUED,
            actor=grantee,
            outcome="ok",
            trace_id=trace_id,
            subject=subject,
            message_id=item.message_id,
            type=payload["type"],
            categories_delivered=tuple(released),
            reason=f"declaration:{fact.declaration_id}",
            processing_activity=TYPES[payload["type"]].activity,
        )
        cursor = tx.append(event, now).index
        tx.messages.deliver(grantee, item.message_id, subject, cursor, now, item.delivery_ids)
