"""The in-memory intake transaction of ``fakes.FakeStore``: its state and its writers.

Each writer class fakes one writer port of ``gateway.service.ports``
(``FakeMessages`` is ``MessagesTx`` …) over the one ``State`` the
transaction works on; ``FakeTx`` exposes them as the attributes
``IntakeTx`` names. ``FakeWrites`` is the generic ``Writes`` transaction.
``test_fakes`` fails when a port has a member its fake lacks.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.domain.audit.events import Event
from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.records import (
    Acknowledged,
    AuditRef,
    Carried,
    HandedOut,
    History,
    Pending,
    Recorded,
    StoredMessage,
)


@dataclass
class State:
    log: list[Event] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    parties: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, tuple[StoredMessage, bytes, str, int]] = field(default_factory=dict)
    assignments: list[tuple[str, str, Any]] = field(default_factory=list)
    consent: list[tuple[str, str, Recorded[Any]]] = field(default_factory=list)
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    placements: dict[str, str] = field(default_factory=dict)
    notices: dict[str, Any] = field(default_factory=dict)
    carried: list[Carried] = field(default_factory=list)
    plans: list[tuple[str, str, Any]] = field(default_factory=list)
    hours: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)
    jtis: set[tuple[str, str]] = field(default_factory=set)
    duo: list[tuple[str, str, str]] = field(default_factory=list)
    """(subject, municipality, event)"""


class _Writer:
    """One aggregate's part of the fake intake transaction, over the transaction's state."""

    def __init__(self, state: State) -> None:
        self.s = state


def _deliver(
    s: State, recipient: str, message_id: str, subject: str, cursor: int, now: datetime,
    supersedes: Sequence[str] | None = None,
) -> str:  # fmt: skip
    delivery_id = str(uuid.uuid4())
    s.deliveries[delivery_id] = {
        "pending": Pending(
            delivery_id, cursor, message_id, subject, now, tuple(supersedes or ())
        ),
        "recipient": recipient,
        "acknowledged_at": None,
        "leased_until": None,
    }  # fmt: skip
    return delivery_id


class FakeMessages(_Writer):
    def find(self, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
        return {m: self.s.messages[m][0] for m in message_ids if m in self.s.messages}

    def is_erased(self, subject: str) -> bool:
        return subject in self.s.erased

    def add(
        self, message: Any, subject: str, now: datetime, audit_index: int, receipt: str
    ) -> None:
        stored = StoredMessage(message.message_id, message.digest, receipt)
        self.s.messages[message.message_id] = (stored, message.raw, subject, audit_index)

    def deliver(
        self, recipient: str, message_id: str, subject: str, cursor: int, now: datetime,
        supersedes: Sequence[str] | None = None,
    ) -> str:  # fmt: skip
        return _deliver(self.s, recipient, message_id, subject, cursor, now, supersedes)

    def has_delivery(self, recipient: str, message_id: str) -> bool:
        return any(
            r["recipient"] == recipient and r["pending"].message_id == message_id
            for r in self.s.deliveries.values()
        )

    def handed_out(self, recipient: str, subject: str) -> list[HandedOut]:
        found: dict[str, list[str]] = {}
        waiting: set[str] = set()
        by_cursor = sorted(self.s.deliveries.items(), key=lambda i: i[1]["pending"].cursor)
        for delivery_id, d in by_cursor:
            item = d["pending"]
            if d["recipient"] != recipient or item.subject != subject:
                continue
            if delivery_id in self.s.notices:
                continue
            found.setdefault(item.message_id, []).append(delivery_id)
            if d["acknowledged_at"] is None:
                waiting.add(item.message_id)
        return [
            HandedOut(m, tuple(ids), self.s.messages[m][1])
            for m, ids in found.items()
            if m not in waiting
        ]


class FakePlacements(_Writer):
    def current(self, subject: str) -> str | None:
        return self.s.placements.get(subject)

    def add(self, message: Any, subject: str, audit_index: int, now: datetime) -> None:
        self.s.placements[subject] = message.recipient


class FakeConsent(_Writer):
    def declared_subject(self, granted_to: str, declaration_id: str) -> str | None:
        return next(
            (s for g, s, r in self.s.consent if g == granted_to and isinstance(r.fact, Declaration)
             and r.fact.declaration_id == declaration_id),
            None,
        )  # fmt: skip

    def is_withdrawn(self, granted_to: str, declaration_id: str) -> bool:
        return any(
            g == granted_to and isinstance(r.fact, Withdrawal)
            and r.fact.declaration_id == declaration_id
            for g, _, r in self.s.consent
        )  # fmt: skip

    def history(self, granted_to: str, subject: str) -> History:
        return histories(self.s, granted_to, [subject])[subject]

    def add(self, fact: Any, message: Any, subject: str, now: datetime) -> None:
        recorded = Recorded(fact, message.message_id, message.sender, now)
        self.s.consent.append((message.recipient, subject, recorded))


class FakeAssignments(_Writer):
    def history(self, municipality: str, subject: str) -> list[Any]:
        return [a for m, s, a in self.s.assignments if (m, s) == (municipality, subject)]

    def add(self, assignment: Any, message_id: str, subject: str, now: datetime) -> None:
        self.s.assignments.append((assignment.municipality, subject, assignment))


class FakePlans(_Writer):
    def history(self, subject: str) -> list[Any]:
        return [(m, v) for s, m, v in self.s.plans if s == subject]

    def owner(self, plan_id: str) -> tuple[str, str] | None:
        for s, m, v in self.s.plans:
            if v.plan_id == plan_id:
                return (s, m)
        return None

    def add(self, plan: Any, message: Any, subject: str, audit_index: int) -> None:
        self.s.plans.append((subject, message.recipient, plan))


class FakeProgress(_Writer):
    def hour_totals(self, subject: str, provider: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for s, p, reported in self.s.hours:
            if (s, p) == (subject, provider):
                totals.update(reported)
        return totals

    def add_hours(
        self, message: Any, subject: str, audit_index: int, totals: dict[str, int]
    ) -> None:
        self.s.hours.append((subject, message.sender, totals))

    def add_report(self, message: Any, subject: str, audit_index: int, now: datetime) -> None:
        pass  # regie's reads are not faked: the e2e tests read them from storage


class FakeNotices(_Writer):
    def carried(self, recipient: str, declaration_id: str, categories: Sequence[str]) -> list[str]:
        return sorted(
            {c.delivery_id for c in self.s.carried if (c.recipient, c.declaration_id) ==
             (recipient, declaration_id) and c.category in categories}
        )  # fmt: skip

    def add(self, message: Any, subject: str, cursor: int, now: datetime, notice: Any) -> None:
        delivery_id = _deliver(self.s, message.recipient, message.message_id, subject, cursor, now)
        self.s.notices[delivery_id] = notice


class FakeDuo(_Writer):
    def add(self, message: Any, subject: str, audit_index: int) -> None:
        self.s.duo.append((subject, message.recipient, message.body["gebeurtenisId"]))

    def add_facts(self, message: Any, subject: str, audit_index: int) -> None:
        self.s.duo.append((subject, message.recipient, "facts"))


class FakeTx:
    """Intake's write transaction: the log, and its writers as attributes."""

    def __init__(self, state: State) -> None:
        self.s = state
        self.messages = FakeMessages(state)
        self.placements = FakePlacements(state)
        self.consent = FakeConsent(state)
        self.assignments = FakeAssignments(state)
        self.plans = FakePlans(state)
        self.progress = FakeProgress(state)
        self.notices = FakeNotices(state)
        self.duo = FakeDuo(state)

    def append(self, event: Event, now: datetime) -> AuditRef:
        self.s.log.append(event)
        return AuditRef(len(self.s.log) - 1, f"{len(self.s.log) - 1:064x}")


class FakeWrites:
    """The generic write transaction: entries, acknowledgements, registrations."""

    def __init__(self, state: State) -> None:
        self.s = state

    def append(self, events: Sequence[Event], now: datetime) -> list[AuditRef]:
        first = len(self.s.log)
        self.s.log.extend(events)
        return [AuditRef(i, f"{i:064x}") for i in range(first, len(self.s.log))]

    def record_carried(self, carried: Sequence[Carried], now: datetime) -> None:
        self.s.carried.extend(carried)

    def acknowledge(self, recipient: str, delivery_id: str, now: datetime) -> Acknowledged | None:
        row = self.s.deliveries.get(delivery_id)
        if row is None or row["recipient"] != recipient:
            return None
        first = row["acknowledged_at"] is None
        row["acknowledged_at"] = row["acknowledged_at"] or now
        return Acknowledged(row["pending"], first)

    def add_party(self, party: Any, now: datetime) -> bool:
        return self.s.parties.setdefault(party.oin, party) is party

    def find_party(self, oin: str) -> Any:
        return self.s.parties.get(oin)

    def add_key(self, record: Any, now: datetime) -> bool:
        return self.s.keys.setdefault(record.kid, record) is record

    def find_key(self, kid: str) -> Any:
        return self.s.keys.get(kid)

    def revoke_key(self, kid: str, now: datetime) -> None:
        self.s.keys[kid] = dataclasses.replace(self.s.keys[kid], revoked_at=now)


def histories(state: State, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
    found = {s: History([], []) for s in subjects}
    for g, subject, recorded in state.consent:
        if g == granted_to and subject in found:
            kind = isinstance(recorded.fact, Declaration)
            (found[subject].declarations if kind else found[subject].withdrawals).append(recorded)
    return found
