"""The plan at intake, and the briefs it makes for the providers who run it.

A plan version is checked under the write lock against the newcomer's
earlier versions (the next one only, dated no earlier, DUO's combinations).
Once accepted, each provider with an assignment in force gets a brief of it
in its inbox; a provider assigned later gets one of the newest plan then.
What the brief holds is decided when it is pulled (``service.briefs``).
Used by the handlers of plans and assignments (``service.handlers``); a
brief is a delivery of the plan message (``tx.messages.deliver``). Must not
import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import assignments, plans
from gateway.domain.assignments import Assignment
from gateway.domain.message import Message
from gateway.service.ports import IntakeTx

DATED_CORRECTED = "dated-corrected"
"""The audit entry's reason when a correctie dates a plan earlier than its previous version"""


def check(
    tx: IntakeTx, message: Message, subject: str, now: datetime
) -> tuple[plans.PlanVersion, str | None]:
    """The plan version, checked against this newcomer's history, and what its entry notes.

    Raises SchemaViolation for a combination DUO refuses, a date out of range
    or earlier than the previous (but by a correctie), a missing reason;
    Conflict when it is not the next version (``plan-version``), when the
    plan_id is another plan's (``plan-id-taken``), or when the municipality
    has a plan for this newcomer under another plan_id (``plan-exists``).
    """
    version = plans.version_of(message.body, message.message_id)
    plans.check_dated(version, now.date())
    placed = tx.plans.history(subject)
    owner = tx.plans.owner(version.plan_id)
    plans.check_owner(version, owner, subject, message.recipient, placed)
    history = [v for _, v in placed]
    plans.check_combination(message.body, first_plan=not history)
    moved_back = plans.check_next(version, message.body.get("change_reason"), history)
    return version, DATED_CORRECTED if moved_back else None


def brief_providers(
    tx: IntakeTx,
    version: plans.PlanVersion,
    message: Message,
    subject: str,
    cursor: int,
    now: datetime,
) -> None:
    """Record the version, and a brief of it for each provider assigned now."""
    tx.plans.add(version, message, subject, cursor)
    history = tx.assignments.history(message.recipient, subject)
    for provider in assignments.providers_in_force(history, now):
        tx.messages.deliver(provider, message.message_id, subject, cursor, now)


def brief_assigned(
    tx: IntakeTx, assignment: Assignment, subject: str, cursor: int, now: datetime
) -> None:
    """A provider newly assigned gets a brief of the newest plan, once per version."""
    if assignment.status != "active":
        return
    newest = [v for m, v in tx.plans.history(subject) if m == assignment.municipality]
    if not newest:
        return
    plan_message = newest[-1].message_id
    if not tx.messages.has_delivery(assignment.provider, plan_message):
        tx.messages.deliver(assignment.provider, plan_message, subject, cursor, now)
