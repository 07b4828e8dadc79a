"""The Logboek Dataverwerkingen written behind the request, from the audit log (#34).

Until #34 every transaction that appended to the log wrote its records to
the logbook and fsynced them before it committed: a second durable write
of its own for every single message (measured: 441 of 1,887 µs in-process,
docs/architecture.md). Now the audit entry is the record's durable copy (it
holds the trace id, a span id, the event, outcome, activity and pseudonym,
and commits atomically with the processing), and one exporter per
deployment (a lease: on PostgreSQL across instances, on SQLite across the
workers) writes the records of what the log holds beyond the cursor, in
batches of up to ``BATCH``, one fsync each, then moves the cursor.

Fail closed stays, with a bound instead of at once: while an entry has
waited longer than the grace for its record (the exporter cannot write:
a full disk, an unwritable path; or no exporter runs), every write that
could append is refused with 503 (``guard``), in every process, as an FSC
inway denies what it cannot log. What was accepted before is never lost:
its records follow as soon as the logbook takes writes again.

A record is written at least once: an exporter killed between its fsync
and the cursor's move leaves a batch that the next writes again, unless it
finds the batch's last record at the file's end (``resume``). Either way a
record names its entry (trace, span and ``inburgering.audit_index``), so a
copy is recognisably one.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from gateway import logs
from gateway.errors import LogbookUnwritable
from gateway.service.ports import LdvPort, ProcessingLog

log = logs.get("gateway.ldvexport")
LEASE = "logbook"
LEASE_LENGTH = timedelta(seconds=5)
"""a killed holder's successor takes over within this (plus a try each second)"""
BATCH = 2000
PERIOD = 0.05
"""seconds between the holder's looks at the log: how late a record is, at most, when
the logbook takes writes"""
GUARD_CACHE_SECONDS = 1.0
RETRY_SECONDS = 1.0
"""after a failed round, the next one"""


class LogbookExport:
    def __init__(
        self,
        port: LdvPort,
        logbook: ProcessingLog,
        grace: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.logbook = logbook
        self.grace = grace
        self.monotonic = monotonic
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 65536:x}"
        self._held_until = -math.inf  # monotonic; renewed at half the lease
        self._next_try = -math.inf
        self._quiet_until = -math.inf
        self._guard: tuple[float, str | None] = (-math.inf, None)  # (when, the cause)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """The serving process's exporter: one round at once (a backlog left by commands
        run while no gateway served goes out before the first request), then each PERIOD."""
        if self._thread is None:
            self._stop.clear()
            self.tick(force=True)
            self._thread = threading.Thread(target=self._run, name="ldv-export", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the thread after its round and give the lease back (a process that ends
        gracefully: a recycled worker's successor takes over at once, not a lease later)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._let_go()

    def _let_go(self) -> None:
        """Give the lease back, if held: after a failed round another process (on
        PostgreSQL another instance, with a logbook of its own that may take writes)
        takes over within a second, instead of waiting on this one for good."""
        if self._held_until == -math.inf:
            return
        self._held_until = -math.inf  # taken again: resume first (a batch may be half marked)
        try:
            self.port.give_back(LEASE, self.holder)
        except Exception as error:  # the database may be why the round failed
            log.warning("ldv_lease_not_given_back", error_type=logs.error_kind(error))

    def _run(self) -> None:
        while not self._stop.wait(PERIOD):
            self.tick()

    def tick(self, *, force: bool = False) -> int:
        """One round, as a background job; after a failure (logged) the next is a second
        away, not a period: a full disk is not told twenty times a second."""
        if not force and self.monotonic() < self._quiet_until:
            return 0
        with structlog.contextvars.bound_contextvars(job="ldv-export"):
            try:
                return self.export(datetime.now(UTC), force=force)
            except LogbookUnwritable:
                pass  # logged by the exporter; the cursor row says why (failed)
            except Exception as error:  # the thread must outlive any one failure
                log.warning("ldv_export_failed", error_type=logs.error_kind(error))
            self._quiet_until = self.monotonic() + RETRY_SECONDS
            self._let_go()
            return 0

    def export(self, now: datetime, *, force: bool = False) -> int:
        """Write the records of everything the log holds beyond the cursor, if this process
        holds the lease (``force``: try for it now); how many records it wrote."""
        if not self._holding(now, force):
            return 0
        written = 0
        while True:
            if written and not self._holding(datetime.now(UTC), False):
                return written  # the lease ran out during a long backlog: the next goes on
            work = self.port.pending(BATCH)
            if work.end == work.start:
                return written
            try:
                self.logbook.write(work.entries)
            except LogbookUnwritable as error:
                self.port.failed(error.cause)
                raise
            if not self.port.advance(work.start, work.end):
                return written  # another exporter moved it: the lease had run out
            written += len(work.entries)
            if work.end - work.start < BATCH:
                return written

    def flush(self) -> int:
        """Everything pending, now (a command or a test that calls the use cases itself)."""
        return self.export(datetime.now(UTC), force=True)

    def _holding(self, now: datetime, force: bool) -> bool:
        moment = self.monotonic()
        if moment < self._held_until:
            return True
        if moment < self._next_try and not force:
            return False
        self._next_try = moment + 1.0
        was_held = self._held_until > -math.inf
        if not self.port.take_lease(LEASE, self.holder, now, LEASE_LENGTH):
            self._held_until = -math.inf
            return False
        self._held_until = moment + LEASE_LENGTH.total_seconds() / 2
        if not was_held:
            self.resume()
        return True

    def resume(self) -> None:
        """After taking the lease: skip a batch a killed holder wrote but did not mark, found
        as the file's last record (its entry's index and the same span id)."""
        last = self.logbook.last()
        if last is None:
            return
        index, span_id = last
        start = self.port.pending(0).start
        stored = self.port.entry(index) if index >= start else None
        written = stored is not None and json.loads(stored).get("span_id") == span_id
        if written and self.port.advance(start, index + 1):
            log.info("ldv_export_resumed", skipped=index + 1 - start)

    def guard(self) -> None:
        """Raises LogbookUnwritable while an entry has waited longer than the grace for its
        record (cached for a second: one read a second per process, not per request)."""
        checked_at, cause = self._guard
        if self.monotonic() - checked_at >= GUARD_CACHE_SECONDS:
            with self._lock:
                lag = self.port.lag()
                late = lag.since is not None and datetime.now(UTC) - lag.since > self.grace
                cause = (lag.failing or "behind") if late else None
                self._guard = (self.monotonic(), cause)
        if cause is not None:
            raise LogbookUnwritable(cause)  # a new one each time: threads share the cache
