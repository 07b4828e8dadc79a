"""The audit port in memory, for the service tests; no SQL.

``FakeAuditLog`` is the audit port over a list of entries built as storage
builds them (``events.entry`` → canonical bytes → leaf hash) and a Merkle
tree computed from those leaves with ``gateway.domain.audit.merkle``, so
its roots, inclusion and consistency proofs verify as the real ones do.
``FakeTip`` is the log's end while a checkpoint is being made under its lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain.audit import events, merkle
from gateway.domain.audit.checkpoints import Checkpoint
from gateway.domain.audit.events import Event
from gateway.domain.records import AuditRef, StoredCheckpoint
from gateway.errors import BadRequest


@dataclass(frozen=True)
class Row:
    """One stored entry: its canonical bytes, leaf hash, when written, about whom."""

    data: bytes
    leaf: bytes
    created_at: datetime
    subject: str | None


class FakeTip:
    """``CheckpointTip``: the log's end while ``FakeAuditLog.checkpointing`` holds it."""

    def __init__(self, log: FakeAuditLog, size: int, last: StoredCheckpoint | None) -> None:
        self.log = log
        self.size = size
        self.last = last

    def root(self) -> bytes:
        return self.log.root(self.size)

    def append(self, appended: Sequence[Event], now: datetime) -> None:
        self.size += len(self.log.append(appended, now))

    def save(self, point: Checkpoint, jws: str, note: str, now: datetime) -> StoredCheckpoint:
        assert self.log.locked, "a checkpoint is saved only under the lock"
        seq = len(self.log.saved) + 1
        saved = StoredCheckpoint(seq, point.tree_size, point.root_hash, now, jws, note)
        self.log.saved.append(saved)
        return saved


class FakeAuditLog:
    """``AuditPort`` in memory; ``calls`` names each port method as it is called."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.saved: list[StoredCheckpoint] = []
        self.calls: list[str] = []
        self.failure: BaseException | None = None
        """raised by ``checkpointing`` when set (a failing database)"""
        self.locked = False

    # -- what the fake transaction and the tests use (not the port)
    def append(self, appended: Sequence[Event], now: datetime) -> list[AuditRef]:
        refs: list[AuditRef] = []
        for event in appended:
            index = len(self.rows)
            data = events.canonical_entry(events.entry(index, now, event))
            self.rows.append(Row(data, merkle.leaf_hash(data), now, event.subject))
            refs.append(AuditRef(index, events.leaf_hash(data)))
        return refs

    def entries(self) -> list[dict[str, Any]]:
        """Every entry as its object, oldest first."""
        return [json.loads(row.data) for row in self.rows]

    def leaves(self) -> list[bytes]:
        return [row.leaf for row in self.rows]

    def root(self, size: int) -> bytes:
        return merkle.root_of(self.leaves()[:size])

    def _node(self, start: int, end: int) -> bytes:
        return merkle.root_of(self.leaves()[start:end])

    def _check_size(self, size: int) -> None:
        if not 0 < size <= len(self.rows):  # as storage answers it
            raise BadRequest("tree_size must be within 1..the log's size")

    def _last(self) -> StoredCheckpoint | None:
        return self.saved[-1] if self.saved else None

    # -- the port
    def entries_raw(self, start: int, end: int) -> list[tuple[int, bytes, str]]:
        self.calls.append("entries_raw")
        return [
            (i, self.rows[i].data, self.rows[i].leaf.hex())
            for i in range(max(start, 0), min(end, len(self.rows)))
        ]

    def subject_entries(self, subject: str) -> list[dict[str, Any]]:
        self.calls.append("subject_entries")
        return [
            {"index": i, "entry": json.loads(row.data), "leaf_hash": row.leaf.hex()}
            for i, row in enumerate(self.rows)
            if row.subject == subject
        ]

    def size(self) -> int:
        self.calls.append("size")
        return len(self.rows)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        self.calls.append("inclusion")
        self._check_size(size)
        return merkle.inclusion_path(index, size, self._node)

    def consistency(self, first: int, second: int) -> list[bytes]:
        self.calls.append("consistency")
        self._check_size(second)
        return merkle.consistency_path(first, second, self._node)

    @contextmanager
    def checkpointing(self) -> Iterator[FakeTip]:
        self.calls.append("checkpointing")
        if self.failure is not None:
            raise self.failure
        self.locked = True
        try:
            yield FakeTip(self, len(self.rows), self._last())
        finally:
            self.locked = False

    def latest(self) -> StoredCheckpoint | None:
        self.calls.append("latest")
        return self._last()

    def checkpoints(self, after: int, limit: int) -> list[StoredCheckpoint]:
        self.calls.append("checkpoints")
        return [c for c in self.saved if c.seq > after][:limit]

    def pending_since(self) -> datetime | None:
        self.calls.append("pending_since")
        last = self._last()
        covered = last.tree_size if last else 0
        return self.rows[covered].created_at if covered < len(self.rows) else None
