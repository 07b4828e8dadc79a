"""What a message type's handler is, and what intake hands it.

A handler is three steps of intake that depend on the type: ``check``
before the lock (the facts the body states, read against the session),
``check_locked`` under it (the rules that need what is committed), and
``write`` (its rows, beside the message row and the acceptance entry that
intake writes for every type). ``Checked`` carries a message from the first
step to the others. Must not import storage, Flask, SQLAlchemy or the
modules that dispatch to handlers (``service.intake``, ``service.checks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from gateway.domain.audit.events import Event
from gateway.domain.message import Message
from gateway.domain.vocabulary import TYPES
from gateway.service.ports import IntakeSession, IntakeTx
from gateway.service.services import Services

F = TypeVar("F")
"""What a handler's ``check`` found in the body before the lock (None for most types)"""
L = TypeVar("L")
"""What a handler's ``check_locked`` found under the lock, for its ``write``"""


@dataclass(frozen=True, slots=True)
class Checked(Generic[F]):
    """A message that passed steps (1)-(7); what the write transaction still checks."""

    message: Message
    subject: str
    facts: F
    """what its type's handler read from the body (an assignment, a consent fact …)"""


@dataclass(frozen=True, slots=True)
class Locked(Generic[L]):
    """What the checks under the lock found, for the writes to record."""

    found: L
    note: str | None = None
    """the acceptance entry's reason (a correctie that dates a plan back)"""


@dataclass(frozen=True, slots=True)
class Accepted:
    """Where the message was entered in the log, and what its writes may need."""

    index: int
    """its acceptance entry's index: the cursor of the inbox entries it makes"""
    now: datetime
    services: Services
    trace_id: str


class Handler(Protocol[F, L]):
    """What intake does with a message of one type, beyond what every type shares."""

    def check(self, message: Message, session: IntakeSession) -> F:
        """Before the lock: the facts the body states. Raises the GatewayError of a rule broken."""
        ...

    def check_locked(self, tx: IntakeTx, checked: Checked[F], now: datetime) -> Locked[L]:
        """Under the lock, against what is committed (and earlier in this transaction).

        Raises the GatewayError of the rule the message breaks.
        """
        ...

    def write(self, tx: IntakeTx, checked: Checked[F], found: L, at: Accepted) -> None:
        """The type's own rows and entries, after the message row was added."""
        ...


def event(
    name: str, outcome: str, message: Message, subject: str, trace_id: str,
    reason: str | None = None,
) -> Event:  # fmt: skip
    """An entry about an accepted message: its sender acted, on its newcomer."""
    return Event(
        event=name,
        actor=message.sender,
        outcome=outcome,
        trace_id=trace_id,
        subject=subject,
        message_id=message.message_id,
        type=message.type,
        reason=reason,
        processing_activity=TYPES[message.type].activity,
    )
