"""The handover profile: COA hands a newcomer to the municipality it is placed with.

Its rules before the lock are the schema's and ``domain.rights``; it
checks nothing under the lock (it is the message that places, not one that
needs a placement). It writes the placement: the newest accepted profile's
recipient is where the newcomer is placed (``tx.placements``). Must not
import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.message import Message
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx


class HandoverProfile:
    def check(self, message: Message, session: IntakeSession) -> None:
        return None

    def check_locked(self, tx: IntakeTx, checked: Checked[None], now: datetime) -> Locked[None]:
        return Locked(None)

    def write(self, tx: IntakeTx, checked: Checked[None], found: None, at: Accepted) -> None:
        """The newcomer is placed with this profile's recipient, from now on."""
        tx.placements.add(checked.message, checked.subject, at.index, at.now)


HANDLER: Handler[None, None] = HandoverProfile()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
