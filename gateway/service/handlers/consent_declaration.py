"""The consent declaration: what a newcomer allowed which sources to give the municipality.

Before the lock: the declaration the body states. Under the lock: its
declaration_id is new at this municipality (a recorded one never changes).
It writes the declaration with its own entry (``consent.recorded``), and
hands out once more what it releases of messages already handed out
(``service.releases.release``). Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import consent, rights
from gateway.domain.message import Message
from gateway.service import releases
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked, event
from gateway.service.ports import IntakeSession, IntakeTx


class ConsentDeclaration:
    def check(self, message: Message, session: IntakeSession) -> consent.Declaration:
        return consent.Declaration.from_body(message.body)

    def check_locked(
        self, tx: IntakeTx, checked: Checked[consent.Declaration], now: datetime
    ) -> Locked[None]:
        """Raises Conflict when this declaration_id was recorded before."""
        declared = tx.consent.declared_subject(
            checked.message.recipient, checked.facts.declaration_id
        )
        rights.check_new_declaration(declared is not None)
        return Locked(None)

    def write(
        self, tx: IntakeTx, checked: Checked[consent.Declaration], found: None, at: Accepted
    ) -> None:
        message, subject, fact = checked.message, checked.subject, checked.facts
        tx.consent.add(fact, message, subject, at.now)
        reason = f"declaration:{fact.declaration_id}"
        tx.append(event("consent.recorded", "ok", message, subject, at.trace_id, reason), at.now)
        releases.release(tx, at.services, fact, message, subject, at.now, at.trace_id)


HANDLER: Handler[consent.Declaration, None] = ConsentDeclaration()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
