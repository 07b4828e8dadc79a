"""No processing while the Logboek Dataverwerkingen lags past its grace: the store's two doors.

All that grows the audit log passes two doors of the store: ``Store.write()``
(everything but intake) and intake's ``IntakeSession.intake()`` (which the
group commit and batches share). ``Guarded`` puts the logbook's guard
(``LogbookExport.guard``) before each: while an entry has waited longer
than the grace for its LDV record (the exporter cannot write), the
transaction is never opened and the request gets a 503, as an FSC inway
denies a request it cannot log. The records themselves are made from the
entries after the commit (``service.ldvexport``). The composition root puts
the wrapper around the store when the logbook is on; the use cases never
see it. Only a serving process guards: one that runs no exporter (a
command, a test calling the use cases) has nothing to wait for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from gateway.service import ports
from gateway.service.ldvexport import LogbookExport


class _Session:
    """An intake session whose write transaction opens only past the guard."""

    def __init__(self, session: ports.IntakeSession, export: LogbookExport) -> None:
        self._session = session
        self._export = export
        self.prefetch = session.prefetch
        self.prefetch_messages = session.prefetch_messages
        self.find_key = session.find_key
        self.find_message = session.find_message
        self.find_party = session.find_party
        self.find_parties = session.find_parties

    def intake(
        self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()
    ) -> AbstractContextManager[ports.IntakeTx]:
        if self._export.running:
            self._export.guard()
        return self._session.intake(subjects, message_ids)


class _Intake:
    def __init__(self, intake: ports.IntakePort, export: LogbookExport) -> None:
        self._intake = intake
        self._export = export

    @contextmanager
    def session(self) -> Iterator[ports.IntakeSession]:
        with self._intake.session() as session:
            yield _Session(session, self._export)

    def settle(self) -> None:
        self._intake.settle()  # it appends nothing: no record to wait for


class Guarded:
    """``store`` with each write transaction opened only while the logbook keeps up.

    The read ports are the store's own (a read that appends, such as a pull,
    appends through ``write()`` like any other).
    """

    def __init__(self, store: ports.Store, export: LogbookExport) -> None:
        self.inner = store
        self.export = export
        self.intake: ports.IntakePort = _Intake(store.intake, export)
        self.audit = store.audit
        self.inbox = store.inbox
        self.registry = store.registry
        self.consent = store.consent
        self.retention = store.retention
        self.progress = store.progress
        self.ratelimits = store.ratelimits
        self.profiles = store.profiles
        self.witnesses = store.witnesses
        self.ldv = store.ldv
        self.ping = store.ping

    def write(self) -> AbstractContextManager[ports.Writes]:
        if self.export.running:
            self.export.guard()
        return self.inner.write()
