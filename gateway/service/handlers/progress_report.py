"""The progress report: a provider reports on a newcomer to the municipality that assigned it.

Under the lock (beside the placement check every steered type gets): the
provider must hold an assignment in force, and hours reported are totals
that never go down (``domain.progress.check_hours``). It writes the report
(the newest is what signals judge) and the hours. Must not import storage,
Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import progress, rights
from gateway.domain.message import Message
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx

Hours = dict[str, int] | None
"""The totals the report states, checked against the earlier ones (None: it states none)"""


class ProgressReport:
    def check(self, message: Message, session: IntakeSession) -> None:
        return None

    def check_locked(self, tx: IntakeTx, checked: Checked[None], now: datetime) -> Locked[Hours]:
        """Raises NotAuthorised unless assigned now, SchemaViolation when hours go down."""
        message, subject = checked.message, checked.subject
        history = tx.assignments.history(message.recipient, subject)
        rights.check_assigned(history, message.sender, now)
        if "hours" not in message.body:
            return Locked(None)
        hours = dict(message.body["hours"])
        progress.check_hours(hours, tx.progress.hour_totals(subject, message.sender))
        return Locked(hours)

    def write(self, tx: IntakeTx, checked: Checked[None], found: Hours, at: Accepted) -> None:
        message, subject = checked.message, checked.subject
        tx.progress.add_report(message, subject, at.index, at.now)
        if found is not None:
            tx.progress.add_hours(message, subject, at.index, found)


HANDLER: Handler[None, Hours] = ProgressReport()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
