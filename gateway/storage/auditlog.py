"""The audit log's rows: entries appended, read back, proven, checkpointed.

Entries are appended inside the write transaction of the change they record
(``append``), under the counter lock that ``engine.write`` takes, so indices
never repeat or leave a gap (which a sequence would). The entry objects and
their bytes are built by ``gateway.domain.audit.events``; this module only
stores them. Checkpoints are signed by the service layer while
``checkpointing`` holds the lock, so two processes never sign one size twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from gateway.domain.audit import events, merkle
from gateway.domain.audit.checkpoints import Checkpoint
from gateway.domain.records import AuditRef, StoredCheckpoint
from gateway.errors import BadRequest
from gateway.storage import audittree, engine, tables

T = TypeVar("T")

_RESERVE_INDICES = (
    update(tables.audit_counter)
    .where(tables.audit_counter.c.id == 1)
    .values(next_index=tables.audit_counter.c.next_index + bindparam("count"))
    .returning(tables.audit_counter.c.next_index)
)
_RAW_ENTRIES = (
    select(
        tables.audit_entries.c.idx, tables.audit_entries.c.entry, tables.audit_entries.c.leaf_hash
    )
    .where(
        tables.audit_entries.c.idx >= bindparam("start"),
        tables.audit_entries.c.idx < bindparam("end"),
    )
    .order_by(tables.audit_entries.c.idx)
)


def entry_row(index: int, event: events.Event, now: datetime) -> dict[str, Any]:
    """The audit_entries row of an event at ``index``: its canonical bytes and leaf hash."""
    data = events.canonical_entry(events.entry(index, now, event))
    return {
        "idx": index,
        "entry": data,
        "leaf_hash": events.leaf_hash(data),
        "event": event.event,
        "subject": event.subject,
        "created_at": now,
    }


def append(conn: Connection, appended: Sequence[events.Event], now: datetime) -> list[AuditRef]:
    """Append entries inside the caller's write transaction: one counter update, one insert."""
    if not appended:
        return []
    end = conn.execute(_RESERVE_INDICES, {"count": len(appended)}).scalar_one()
    rows = [entry_row(i, e, now) for i, e in enumerate(appended, start=end - len(appended))]
    conn.execute(insert(tables.audit_entries), rows)
    return [AuditRef(index=row["idx"], leaf_hash=row["leaf_hash"]) for row in rows]


@dataclass
class Tip:
    """The log's end under the counter lock, for the service to sign a checkpoint of."""

    conn: Connection
    size: int
    last: StoredCheckpoint | None

    def root(self) -> bytes:
        """The root of the whole log, folding what is new first."""
        if self.size == 0:
            return merkle.EMPTY_ROOT
        audittree.fold(self.conn, self.size)
        size = self.size
        return audittree.with_nodes(self.conn, lambda node: node(0, size))

    def append(self, appended: Sequence[events.Event], now: datetime) -> None:
        """Entries appended at the log's end, under the same lock, before it is signed."""
        self.size += len(append(self.conn, appended, now))

    def save(self, point: Checkpoint, jws: str, note: str, now: datetime) -> StoredCheckpoint:
        seq = self.conn.execute(
            insert(tables.checkpoints)
            .values(
                tree_size=point.tree_size,
                root_hash=point.root_hash,
                created_at=now,
                jws=jws,
                note=note,
            )
            .returning(tables.checkpoints.c.seq)
        ).scalar_one()
        return StoredCheckpoint(seq, point.tree_size, point.root_hash, now, jws, note)


class AuditLogStore:
    """Reads of the log and its tree, and the checkpoint rows, on the gateway's engine."""

    def __init__(self, db: Engine) -> None:
        self.engine = db

    def entries(self, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        """Entries [start, end) as objects, oldest first (tests, demo, benchmarks)."""
        query = select(tables.audit_entries).where(tables.audit_entries.c.idx >= start)
        if end is not None:
            query = query.where(tables.audit_entries.c.idx < end)
        with engine.read(self.engine) as conn:
            rows = conn.execute(query.order_by(tables.audit_entries.c.idx)).all()
        return [_entry(r) for r in rows]

    def entries_raw(self, start: int, end: int) -> list[tuple[int, bytes, str]]:
        """(index, canonical bytes, leaf hash) of entries [start, end), served as they are."""
        with engine.read(self.engine) as conn:
            rows = conn.execute(_RAW_ENTRIES, {"start": start, "end": end}).all()
        return [(idx, bytes(entry), leaf) for idx, entry, leaf in rows]

    def subject_entries(self, subject: str) -> list[dict[str, Any]]:
        """Every entry about one newcomer (by pseudonym), oldest first."""
        with engine.read(self.engine) as conn:
            rows = conn.execute(
                select(tables.audit_entries)
                .where(tables.audit_entries.c.subject == subject)
                .order_by(tables.audit_entries.c.idx)
            ).all()
        return [_entry(r) for r in rows]

    def size(self) -> int:
        with engine.read(self.engine) as conn:
            return audittree.log_size(conn)

    def root(self, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._over_tree(size, lambda node: node(0, size))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """Raises BadRequest for sizes beyond the log, ProofError for index ≥ size."""
        return self._over_tree(size, lambda node: merkle.inclusion_path(index, size, node))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """Raises BadRequest for sizes beyond the log, ProofError unless 0 < first ≤ second."""
        return self._over_tree(second, lambda node: merkle.consistency_path(first, second, node))

    def _over_tree(self, size: int, build: Callable[[merkle.Node], T]) -> T:
        """Run ``build`` over the stored tree of ``size`` leaves, folding it first if needed.

        One read connection for the common case (size check, fold check, nodes).
        Raises BadRequest when ``size`` is not within 1..the log's size.
        """
        with engine.read(self.engine) as conn:
            if not 0 < size <= audittree.log_size(conn):
                raise BadRequest("tree_size must be within 1..the log's size")
            if audittree.built_size(conn) >= size:
                return audittree.with_nodes(conn, build)
        with engine.write(self.engine) as conn:
            audittree.fold(conn, max(size, audittree.built_size(conn)))
            return audittree.with_nodes(conn, build)

    @contextmanager
    def checkpointing(self) -> Iterator[Tip]:
        """The log's end and newest checkpoint, under the counter lock until the block ends."""
        with engine.write(self.engine) as conn:
            yield Tip(conn, audittree.log_size(conn), _latest(conn))

    def latest(self) -> StoredCheckpoint | None:
        with engine.read(self.engine) as conn:
            return _latest(conn)

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        with engine.read(self.engine) as conn:
            rows = conn.execute(
                select(tables.checkpoints)
                .where(tables.checkpoints.c.seq > after)
                .order_by(tables.checkpoints.c.seq)
                .limit(limit)
            ).all()
        return [_checkpoint(r) for r in rows]

    def pending_since(self) -> datetime | None:
        """When the oldest entry not covered by any checkpoint was written."""
        with engine.read(self.engine) as conn:
            last = _latest(conn)
            covered = last.tree_size if last else 0
            return conn.execute(
                select(tables.audit_entries.c.created_at).where(
                    tables.audit_entries.c.idx == covered
                )
            ).scalar_one_or_none()


def _latest(conn: Connection) -> StoredCheckpoint | None:
    row = conn.execute(
        select(tables.checkpoints).order_by(tables.checkpoints.c.seq.desc()).limit(1)
    ).first()
    return _checkpoint(row) if row else None


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        row.seq, row.tree_size, row.root_hash, row.created_at, row.jws, row.note
    )


def _entry(row: Any) -> dict[str, Any]:
    return {"index": row.idx, "entry": json.loads(row.entry), "leaf_hash": row.leaf_hash}
