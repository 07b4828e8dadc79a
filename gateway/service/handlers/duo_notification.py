"""DUO's notification: an event in DUO's domain, taken in for the municipality it names.

It needs nothing under the lock: DUO tells, the gateway records (a
notification is never refused for what it says; the municipality reads it
and fetches the facts behind it). It writes DUO's event for regie's clocks
(``tx.duo``), and for an event that settles the newcomer with the
municipality (SS120, SS121) the placement, exactly as a later handover
profile would: the municipality it names steers from now on. Must not
import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import duo
from gateway.domain.message import Message
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx


class DuoNotification:
    def check(self, message: Message, session: IntakeSession) -> None:
        return None

    def check_locked(self, tx: IntakeTx, checked: Checked[None], now: datetime) -> Locked[None]:
        return Locked(None)

    def write(self, tx: IntakeTx, checked: Checked[None], found: None, at: Accepted) -> None:
        """DUO's event; and a move to the municipality it names, for an event that says so."""
        message = checked.message
        tx.duo.add(message, checked.subject, at.index)
        if duo.places(message.body["gebeurtenisId"]):
            tx.placements.add(message, checked.subject, at.index, at.now)


HANDLER: Handler[None, None] = DuoNotification()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
