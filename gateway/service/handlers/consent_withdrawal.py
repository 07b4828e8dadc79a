"""The consent withdrawal: a newcomer ends a declaration, from a moment on, for good.

Before the lock: the withdrawal the body states. Under the lock: it names
a declaration of this newcomer at this municipality, not withdrawn before.
It writes the withdrawal with its own entry (``consent.withdrawn``), and
the grantee's notice of what may no longer be used
(``service.releases.notify``). Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import consent, rights
from gateway.domain.message import Message
from gateway.service import releases
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked, event
from gateway.service.ports import IntakeSession, IntakeTx


class ConsentWithdrawal:
    def check(self, message: Message, session: IntakeSession) -> consent.Withdrawal:
        return consent.Withdrawal.from_body(message.body)

    def check_locked(
        self, tx: IntakeTx, checked: Checked[consent.Withdrawal], now: datetime
    ) -> Locked[None]:
        """Raises SchemaViolation for no such declaration here, Conflict when withdrawn before."""
        granted_to, declaration_id = checked.message.recipient, checked.facts.declaration_id
        declared = tx.consent.declared_subject(granted_to, declaration_id)
        withdrawn = tx.consent.is_withdrawn(granted_to, declaration_id)
        rights.check_withdrawal(declared, checked.subject, withdrawn)
        return Locked(None)

    def write(
        self, tx: IntakeTx, checked: Checked[consent.Withdrawal], found: None, at: Accepted
    ) -> None:
        message, subject, fact = checked.message, checked.subject, checked.facts
        tx.consent.add(fact, message, subject, at.now)
        reason = f"{consent.withdrawal_kind(fact)}:{fact.declaration_id}"
        tx.append(event("consent.withdrawn", "ok", message, subject, at.trace_id, reason), at.now)
        releases.notify(tx, at.services, fact, message, subject, at.now, at.trace_id)


HANDLER: Handler[consent.Withdrawal, None] = ConsentWithdrawal()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
