"""The logbook's cursor: which audit entries wait for their LDV record, and how long.

The Logboek Dataverwerkingen's records are made from the audit entries after
they commit (``service.ldvexport``): the entry is the record's durable copy,
written in the same transaction as the processing it records, so a record
can be late but never missing. ``ldv_cursor.exported`` is the size of the
log the logbook holds; the exporter moves it by compare-and-set after its
write is on disk, so two exporters at once can write a batch twice (same
trace and span ids) but never move the cursor past a batch not written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from gateway.domain.records import LogbookLag, Unrecorded
from gateway.storage import audittree, engine, leases, tables

_C, _E = tables.ldv_cursor, tables.audit_entries


class LdvCursorStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def pending(self, limit: int) -> Unrecorded:
        """Up to ``limit`` entries from the cursor on (the log's size read first: every
        entry below it has committed, so a later read sees them all)."""
        with engine.read(self.engine) as conn:
            size = audittree.log_size(conn)
            start = int(conn.execute(select(_C.c.exported).where(_C.c.id == 1)).scalar_one())
            end = min(size, start + limit)
            rows = conn.execute(
                select(_E.c.idx, _E.c.entry)
                .where(_E.c.idx >= start, _E.c.idx < end, _E.c.subject.is_not(None))
                .order_by(_E.c.idx)
            ).all()
        return Unrecorded(start, max(start, end), [(idx, bytes(entry)) for idx, entry in rows])

    def entry(self, index: int) -> bytes | None:
        """The stored bytes of entry ``index``, if the log holds it."""
        with engine.read(self.engine) as conn:
            found = conn.execute(select(_E.c.entry).where(_E.c.idx == index)).scalar()
        return None if found is None else bytes(found)

    def advance(self, start: int, end: int) -> bool:
        """Move the cursor from ``start`` to ``end`` and clear the failure; False when it was
        no longer at ``start`` (another exporter moved it)."""
        with engine.write(self.engine, lock=False, background=True) as conn:
            moved = conn.execute(
                update(_C).where(_C.c.id == 1, _C.c.exported == start)
                .values(exported=end, failing=None)
            ).rowcount  # fmt: skip
        return bool(moved)

    def failed(self, cause: str) -> None:
        """Why the exporter could not write (what intake's 503 names in every process)."""
        with engine.write(self.engine, lock=False, background=True) as conn:
            conn.execute(update(_C).where(_C.c.id == 1).values(failing=cause))

    def lag(self) -> LogbookLag:
        """One read for the guard: the entry at the cursor's time, and the failure."""
        with engine.read(self.engine) as conn:
            row = conn.execute(
                select(_E.c.created_at, _C.c.failing)
                .select_from(_C.outerjoin(_E, _E.c.idx == _C.c.exported))
                .where(_C.c.id == 1)
            ).one()
        return LogbookLag(row.created_at, row.failing)

    def take_lease(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        return leases.take(self.engine, name, holder, now, length)

    def give_back(self, name: str, holder: str) -> None:
        leases.give_back(self.engine, name, holder)
