"""In-memory fakes of the service layer's ports: enough to run the use cases, no SQL.

State is plain dicts and lists. A write transaction works on a copy and
replaces the state when it ends without an exception, and one lock
serialises the transactions as the counter lock does, so a refused or
failed transaction leaves nothing behind, as on a real database. The
integration tests on SQLite and PostgreSQL remain the proof that storage
keeps the same promises.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.domain.audit import events
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
    log: list[events.Event] = field(default_factory=list)
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


class FakeTx:
    """Both kinds of write transaction: intake's and the generic one."""

    def __init__(self, state: State) -> None:
        self.s = state

    # -- the log
    def append(self, event: Any, now: datetime) -> Any:
        added = [event] if isinstance(event, events.Event) else list(event)
        refs = [
            AuditRef(len(self.s.log) + i, f"{len(self.s.log) + i:064x}") for i in range(len(added))
        ]
        self.s.log.extend(added)
        return refs[0] if isinstance(event, events.Event) else refs

    # -- intake
    def find_messages(self, ids: Sequence[str]) -> dict[str, StoredMessage]:
        return {m: self.s.messages[m][0] for m in ids if m in self.s.messages}

    def assignment_history(self, municipality: str, subject: str) -> list[Any]:
        return [a for m, s, a in self.s.assignments if (m, s) == (municipality, subject)]

    def declaration_subject(self, granted_to: str, declaration_id: str) -> str | None:
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

    def placement(self, subject: str) -> str | None:
        return self.s.placements.get(subject)

    def add_placement(self, message: Any, subject: str, index: int, now: datetime) -> None:
        self.s.placements[subject] = message.recipient

    def is_erased(self, subject: str) -> bool:
        return subject in self.s.erased

    def add_message(
        self, message: Any, subject: str, now: datetime, index: int, receipt: str
    ) -> None:
        stored = StoredMessage(message.message_id, message.digest, receipt)
        self.s.messages[message.message_id] = (stored, message.raw, subject, index)

    def add_assignment(self, assignment: Any, message_id: str, subject: str, now: datetime) -> None:
        self.s.assignments.append((assignment.municipality, subject, assignment))

    def add_consent(self, fact: Any, message: Any, subject: str, now: datetime) -> None:
        recorded = Recorded(fact, message.message_id, message.sender, now)
        self.s.consent.append((message.recipient, subject, recorded))

    def add_delivery(self, message: Any, subject: str, cursor: int, now: datetime) -> str:
        delivery_id = str(uuid.uuid4())
        self.s.deliveries[delivery_id] = {
            "pending": Pending(delivery_id, cursor, message.message_id, subject, now),
            "recipient": message.recipient,
            "acknowledged_at": None,
            "leased_until": None,
        }
        return delivery_id

    def plan_history(self, subject: str) -> list[Any]:
        return [(m, v) for s, m, v in self.s.plans if s == subject]

    def plan_owner(self, plan_id: str) -> tuple[str, str] | None:
        for s, m, v in self.s.plans:
            if v.plan_id == plan_id:
                return (s, m)
        return None

    def add_plan(self, plan: Any, message: Any, subject: str, audit_index: int) -> None:
        self.s.plans.append((subject, message.recipient, plan))

    def hour_totals(self, subject: str, provider: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for s, p, reported in self.s.hours:
            if (s, p) == (subject, provider):
                totals.update(reported)
        return totals

    def add_hours(self, message: Any, subject: str, index: int, totals: dict[str, int]) -> None:
        self.s.hours.append((subject, message.sender, totals))

    def add_report(self, message: Any, subject: str, index: int, now: datetime) -> None:
        pass  # regie's reads are not faked: the e2e tests read them from storage

    def has_delivery(self, recipient: str, message_id: str) -> bool:
        return any(
            r["recipient"] == recipient and r["pending"].message_id == message_id
            for r in self.s.deliveries.values()
        )

    def add_brief(
        self, provider: str, plan_message_id: str, subject: str, cursor: int, now: datetime
    ) -> None:
        delivery_id = str(uuid.uuid4())
        self.s.deliveries[delivery_id] = {
            "pending": Pending(delivery_id, cursor, plan_message_id, subject, now),
            "recipient": provider,
            "acknowledged_at": None,
            "leased_until": None,
        }

    def consent_history(self, granted_to: str, subject: str) -> History:
        return _histories(self.s, granted_to, [subject])[subject]

    def carried(self, recipient: str, declaration_id: str, categories: Sequence[str]) -> list[str]:
        return sorted(
            {c.delivery_id for c in self.s.carried if (c.recipient, c.declaration_id) ==
             (recipient, declaration_id) and c.category in categories}
        )  # fmt: skip

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

    def add_redelivery(
        self,
        recipient: str,
        message_id: str,
        subject: str,
        cursor: int,
        now: datetime,
        supersedes: Sequence[str],
    ) -> None:
        delivery_id = str(uuid.uuid4())
        self.s.deliveries[delivery_id] = {
            "pending": Pending(delivery_id, cursor, message_id, subject, now, tuple(supersedes)),
            "recipient": recipient,
            "acknowledged_at": None,
            "leased_until": None,
        }

    def add_notice(
        self, message: Any, subject: str, cursor: int, now: datetime, notice: Any
    ) -> None:
        self.s.notices[self.add_delivery(message, subject, cursor, now)] = notice

    def record_carried(self, carried: Sequence[Carried], now: datetime) -> None:
        self.s.carried.extend(carried)

    # -- the rest
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


class FakeRates:
    """The token buckets in memory: one dict shared, as the database row is."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, Any]] = {}
        self.leases = 0

    def lease(self, oin: str, want: int, limit: Any, now: Any) -> tuple[int, float]:
        from gateway.domain.ratelimit import lease, refilled

        self.leases += 1
        tokens, updated = self.buckets.get(oin, (limit.burst, now))
        granted, left, wait = lease(refilled(tokens, updated, now, limit), want,
                                    limit.chunk(), limit)  # fmt: skip
        self.buckets[oin] = (left, now)
        return granted, wait


class FakeStore:
    """Every port at once: ``store.intake``, ``store.inbox`` … are the store itself."""

    def __init__(self) -> None:
        self.state = State()
        self._lock = threading.RLock()
        self.intake = _Sessions(self)
        self.inbox = self.registry = self.consent = self
        self.ratelimits = FakeRates()

    @contextmanager
    def _transaction(self) -> Iterator[FakeTx]:
        with self._lock:
            draft = copy.deepcopy(self.state)
            yield FakeTx(draft)
            self.state = draft  # only when the block ended without an exception

    def write(self) -> Any:
        return self._transaction()

    def find_key(self, kid: str) -> Any:
        return self.state.keys.get(kid)

    def find_party(self, oin: str) -> Any:
        return self.state.parties.get(oin)

    def find_signer(self, kid: str) -> Any:
        key = self.state.keys.get(kid)
        return None if key is None else (key, self.state.parties[key.oin])

    # -- inbox and consent
    def pending(
        self, recipient: str, after: int, limit: int, now: datetime, lease: timedelta = timedelta(0)
    ) -> list[Pending]:
        with self._lock:
            rows = sorted(
                (r for r in self.state.deliveries.values()
                 if r["recipient"] == recipient and r["pending"].cursor > after
                 and r["acknowledged_at"] is None
                 and (r["leased_until"] is None or r["leased_until"] <= now)),
                key=lambda r: r["pending"].cursor,
            )[:limit]  # fmt: skip
            for row in rows if lease else ():
                row["leased_until"] = now + lease
        return [r["pending"] for r in rows]

    def read_messages(self, message_ids: Sequence[str]) -> dict[str, bytes]:
        found = {m: self.state.messages[m] for m in message_ids if m in self.state.messages}
        return {
            m: raw for m, (_, raw, subject, _) in found.items() if subject not in self.state.erased
        }

    def histories(self, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
        return _histories(self.state, granted_to, subjects)

    def assignments(self, provider: str, subjects: Sequence[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {s: [] for s in subjects}
        for _, subject, assignment in self.state.assignments:
            if subject in found and assignment.provider == provider:
                found[subject].append(assignment)
        return found

    def backlog(self) -> dict[str, int]:
        waiting: dict[str, int] = {}
        for row in self.state.deliveries.values():
            if row["acknowledged_at"] is None:
                waiting[row["recipient"]] = waiting.get(row["recipient"], 0) + 1
        return waiting

    def notices(self, delivery_ids: Sequence[str]) -> dict[str, Any]:
        return {d: self.state.notices[d] for d in delivery_ids if d in self.state.notices}

    # -- registry
    def use_jti(self, iss: str, jti: str, keep_until: datetime, now: datetime) -> bool:
        with self._lock:
            if (iss, jti) in self.state.jtis:
                return False
            self.state.jtis.add((iss, jti))
            return True

    def list_parties(self) -> list[Any]:
        return sorted(self.state.parties.values(), key=lambda p: p.oin)

    def ping(self) -> None:
        pass


def _histories(state: State, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
    found = {s: History([], []) for s in subjects}
    for g, subject, recorded in state.consent:
        if g == granted_to and subject in found:
            kind = isinstance(recorded.fact, Declaration)
            (found[subject].declarations if kind else found[subject].withdrawals).append(recorded)
    return found


class _Sessions:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    @contextmanager
    def session(self) -> Iterator[FakeSession]:
        yield FakeSession(self.store)


class FakeSession:
    """Intake's reads, of what is committed, and its transaction."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def intake(self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()) -> Any:
        return self.store.write()

    def prefetch(self, kid: str, message_id: str, sender: str, recipient: str) -> None:
        pass

    def prefetch_messages(self, message_ids: Sequence[str]) -> None:
        pass

    def find_key(self, kid: str) -> Any:
        return self.store.state.keys.get(kid)

    def find_message(self, message_id: str) -> StoredMessage | None:
        found = self.store.state.messages.get(message_id)
        return found[0] if found else None

    def find_party(self, oin: str) -> Any:
        return self.store.state.parties.get(oin)

    def find_parties(self, first: str, second: str) -> dict[str, Any]:
        parties = self.store.state.parties
        return {o: parties[o] for o in (first, second) if o in parties}
