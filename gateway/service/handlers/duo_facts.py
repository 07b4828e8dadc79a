"""DUO's facts: what DUO answered the municipality about a newcomer placed with it.

A municipality sends them to itself (``rights``: it records only for itself;
the type is steered, so only for a newcomer placed with it now). Its rules
before the lock are the schema's; none under it. It writes the facts,
sealed for regie (``tx.duo.add_facts``): the term's end date is DUO's from
then on (``signals``: ``term-ending``). Must not import storage, Flask or
SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.message import Message
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx


class DuoFacts:
    def check(self, message: Message, session: IntakeSession) -> None:
        return None

    def check_locked(self, tx: IntakeTx, checked: Checked[None], now: datetime) -> Locked[None]:
        return Locked(None)

    def write(self, tx: IntakeTx, checked: Checked[None], found: None, at: Accepted) -> None:
        tx.duo.add_facts(checked.message, checked.subject, at.index)


HANDLER: Handler[None, None] = DuoFacts()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
