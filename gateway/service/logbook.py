"""Every audit entry's processing in the Logboek Dataverwerkingen, before it commits.

All that grows the audit log passes two doors of the store: ``Store.write()``
(everything but intake) and intake's ``IntakeSession.intake()`` (which the
group commit and batches share). ``Recorded`` wraps the store at those two
doors: it collects the events a transaction appends and hands them to the
``ProcessingLog`` port after the use case's work and before the commit. When
the logbook cannot write, the port raises ServiceUnavailable inside the
transaction, which rolls it back: nothing is stored, the request gets a 503,
and the next one tries again (fail closed, as an FSC inway must deny a
request whose log record it cannot write). The composition root puts the
wrapper around the store when the logbook is on; the use cases never see it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, cast

from gateway.domain.audit.events import Event
from gateway.domain.records import AuditRef
from gateway.service import ports


class _Appended:
    """The events one transaction appended, and the clock of the last."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.now: datetime | None = None

    def add(self, events: Sequence[Event], now: datetime) -> None:
        self.events.extend(events)
        self.now = now

    def flush(self, log: ports.ProcessingLog) -> None:
        if self.events and self.now is not None:
            log.record(self.events, self.now)


class _IntakeTx:
    """Intake's transaction with its appends noted; everything else (the writers) is the
    store's own, reached through ``__getattr__``, so a new aggregate's writer needs no
    line here."""

    def __init__(self, tx: ports.IntakeTx, appended: _Appended) -> None:
        self._tx = tx
        self._appended = appended

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def append(self, event: Event, now: datetime) -> AuditRef:
        ref = self._tx.append(event, now)
        self._appended.add((event,), now)
        return ref


class _Writes:
    """``Writes`` with its appends noted; every other call is the store's own."""

    def __init__(self, tx: ports.Writes, appended: _Appended) -> None:
        self._tx = tx
        self._appended = appended

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def append(self, events: Sequence[Event], now: datetime) -> list[AuditRef]:
        refs = self._tx.append(events, now)
        self._appended.add(events, now)
        return refs


class _Session:
    """An intake session whose write transaction records before it commits."""

    def __init__(self, session: ports.IntakeSession, log: ports.ProcessingLog) -> None:
        self._session = session
        self._log = log
        self.prefetch = session.prefetch
        self.prefetch_messages = session.prefetch_messages
        self.find_key = session.find_key
        self.find_message = session.find_message
        self.find_party = session.find_party
        self.find_parties = session.find_parties

    @contextmanager
    def intake(
        self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()
    ) -> Iterator[ports.IntakeTx]:
        appended = _Appended()
        with self._session.intake(subjects, message_ids) as tx:
            yield cast(ports.IntakeTx, _IntakeTx(tx, appended))  # a proxy: see _IntakeTx
            appended.flush(self._log)  # inside: a failure rolls the transaction back


class _Intake:
    def __init__(self, intake: ports.IntakePort, log: ports.ProcessingLog) -> None:
        self._intake = intake
        self._log = log

    @contextmanager
    def session(self) -> Iterator[ports.IntakeSession]:
        with self._intake.session() as session:
            yield _Session(session, self._log)

    def settle(self) -> None:
        self._intake.settle()  # it appends nothing: no record to make


class Recorded:
    """``store`` with each write transaction's events recorded in ``log`` before commit.

    The read ports are the store's own (a read that appends, such as a pull,
    appends through ``write()`` like any other).
    """

    def __init__(self, store: ports.Store, log: ports.ProcessingLog) -> None:
        self.inner = store
        self.log = log
        self.intake: ports.IntakePort = _Intake(store.intake, log)
        self.audit = store.audit
        self.inbox = store.inbox
        self.registry = store.registry
        self.consent = store.consent
        self.retention = store.retention
        self.progress = store.progress
        self.ratelimits = store.ratelimits
        self.profiles = store.profiles
        self.witnesses = store.witnesses
        self.ping = store.ping

    def write(self) -> AbstractContextManager[ports.Writes]:
        return self._write()

    @contextmanager
    def _write(self) -> Iterator[ports.Writes]:
        appended = _Appended()
        with self.inner.write() as tx:
            yield cast(ports.Writes, _Writes(tx, appended))  # a proxy: see _Writes
            appended.flush(self.log)  # inside: a failure rolls the transaction back
