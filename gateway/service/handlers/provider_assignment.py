"""The provider assignment: a municipality assigns (or ends) a provider for a newcomer.

Before the lock: the assignment the body states, whose provider must be a
registered provider. Under the lock: it may not overlap another version in
force (``domain.assignments.check_overlap``). It writes the assignment and,
for a provider newly assigned, a brief of the newest plan
(``service.plans.brief_assigned``). Must not import storage, Flask or
SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import assignments, policy
from gateway.domain.assignments import Assignment
from gateway.domain.message import Message
from gateway.errors import SchemaViolation
from gateway.service import plans
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx


class ProviderAssignment:
    def check(self, message: Message, session: IntakeSession) -> Assignment:
        """Raises SchemaViolation when ``/body/provider`` is not a registered provider."""
        assignment = assignments.from_message(message)
        provider = session.find_party(assignment.provider)
        if provider is None or not policy.may(provider.role, policy.PULL_BRIEFS):
            raise SchemaViolation(
                [{"pointer": "/body/provider", "keyword": "registered-provider"}],
                detail="/body/provider is not a registered provider",
            )
        return assignment

    def check_locked(
        self, tx: IntakeTx, checked: Checked[Assignment], now: datetime
    ) -> Locked[None]:
        history = tx.assignments.history(checked.message.recipient, checked.subject)
        assignments.check_overlap(checked.facts, history)
        return Locked(None)

    def write(self, tx: IntakeTx, checked: Checked[Assignment], found: None, at: Accepted) -> None:
        message, subject, assignment = checked.message, checked.subject, checked.facts
        tx.assignments.add(assignment, message.message_id, subject, at.now)
        plans.brief_assigned(tx, assignment, subject, at.index, at.now)


HANDLER: Handler[Assignment, None] = ProviderAssignment()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
