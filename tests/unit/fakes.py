"""In-memory fakes of the service layer's ports: enough to run the use cases, no SQL.

State is plain dicts and lists. A write transaction works on a copy and
replaces the state when it ends without an exception, and one lock
serialises the transactions as the counter lock does, so a refused or
failed transaction leaves nothing behind, as on a real database. The
integration tests on SQLite and PostgreSQL remain the proof that storage
keeps the same promises. The transaction and its writers are ``fake_tx``.

``FakeStore`` is a ``ports.Store`` to mypy (``world.make_world`` hands it to
``build_services``), and ``test_ports_and_handlers`` holds every fake here
against its port at run time, so a port that grows a member fails there.
What the service tests never reach (the log's proofs and checkpoints,
retention, regie's and the profile's reads) is a stub that fails the test.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

import pytest

from gateway.domain.records import (
    History,
    Pending,
    Placing,
    Stored,
    StoredCheckpoint,
    StoredMessage,
)
from gateway.service.ports import CheckpointTip
from tests.unit.fake_ldv import FakeLdv
from tests.unit.fake_tx import FakeTx, FakeWrites, State
from tests.unit.fake_tx import histories as consent_histories
from tests.unit.fake_witnesses import FakeWitnesses

__all__ = [
    "FakeAudit", "FakeProfiles", "FakeRates", "FakeRegie", "FakeRetention", "FakeSession",
    "FakeSessions", "FakeStore", "FakeTx", "FakeWrites", "State",
]  # fmt: skip

Tx = TypeVar("Tx")


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


def _unfaked(what: str) -> NoReturn:
    pytest.fail(f"{what} is not faked: the integration tests cover it on a real store")


class FakeAudit:
    """The log's size over the state's entries; its proofs and checkpoints are not faked."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def size(self) -> int:
        return len(self.store.state.log)

    def entries_raw(self, start: int, end: int) -> NoReturn:
        _unfaked("the log's raw entries")

    def subject_entries(self, subject: str) -> NoReturn:
        _unfaked("a subject's entries")

    def inclusion(self, index: int, size: int) -> NoReturn:
        _unfaked("an inclusion proof")

    def consistency(self, first: int, second: int) -> NoReturn:
        _unfaked("a consistency proof")

    def checkpointing(self) -> AbstractContextManager[CheckpointTip]:
        _unfaked("signing a checkpoint")

    def latest(self) -> StoredCheckpoint | None:
        return None

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        return []

    def pending_since(self) -> datetime | None:
        return None


class FakeRetention:
    def purge(self, before: datetime, now: datetime, *, dry_run: bool = False) -> int:
        _unfaked("retention")


class FakeRegie:
    """Regie's reads (``ports.ProgressPort``): progress reports are not kept (``fake_tx``)."""

    def stored(self, subject: str) -> Stored | None:
        _unfaked("regie's read of a newcomer")

    def placed_with(self, municipality: str, after: int, limit: int) -> list[Stored]:
        _unfaked("regie's read of a municipality's newcomers")


class FakeProfiles:
    def newest(self, subject: str) -> Placing | None:
        _unfaked("the profile read")


class FakeStore:
    """Every port at once: ``store.intake``, ``store.inbox`` … are the store itself."""

    def __init__(self, ratelimits: FakeRates | None = None) -> None:
        self.state = State()
        self._lock = threading.RLock()
        self.intake = FakeSessions(self)
        self.inbox = self.registry = self.consent = self
        self.ratelimits = ratelimits or FakeRates()  # another store's: a database's one row
        self.audit = FakeAudit(self)
        self.retention = FakeRetention()
        self.progress = FakeRegie()
        self.profiles = FakeProfiles()
        self.witnesses = FakeWitnesses()
        self.ldv = FakeLdv()

    @contextmanager
    def _transaction(self, kind: Callable[[State], Tx]) -> Iterator[Tx]:
        with self._lock:
            draft = copy.deepcopy(self.state)
            yield kind(draft)
            self.state = draft  # only when the block ended without an exception

    def write(self) -> AbstractContextManager[FakeWrites]:
        return self._transaction(FakeWrites)

    def intake_tx(self) -> AbstractContextManager[FakeTx]:
        """Intake's transaction (``FakeSession.intake``)."""
        return self._transaction(FakeTx)

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
        return consent_histories(self.state, granted_to, subjects)

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

    def list_keys(self, oin: str | None = None) -> list[Any]:
        keys = (k for k in self.state.keys.values() if oin is None or k.oin == oin)
        return sorted(keys, key=lambda k: k.oin)  # then as registered, as storage orders them

    def ping(self) -> None:
        pass


class FakeSessions:
    """Intake's port: a session per request."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    @contextmanager
    def session(self) -> Iterator[FakeSession]:
        yield FakeSession(self.store)

    def settle(self) -> None:
        """Every fake commit is as durable as the next."""


class FakeSession:
    """Intake's reads, of what is committed, and its transaction."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def intake(
        self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()
    ) -> AbstractContextManager[FakeTx]:
        return self.store.intake_tx()

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
