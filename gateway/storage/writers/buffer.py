"""The rows, data keys and audit counter one intake transaction shares among its writers.

It reads the counter once, with the lock: indices are handed out in memory,
so they are consecutive and ours alone until commit. Rows are buffered and
written one statement per table, before any read that could depend on them
and when the transaction ends; a batch of a thousand profiles costs a
handful of statements, not thousands. Bodies are sealed with the
newcomer's data key, made here on first use: encryption at rest is
storage's concern. Must not import the service or the web.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gateway.domain import vault
from gateway.domain.audit.events import Event
from gateway.domain.records import AuditRef
from gateway.storage import statements
from gateway.storage.auditlog import entry_row

ERASED = b""
"""A data key that was crypto-shredded (in the buffer's key cache)"""


class Buffer:
    """What one intake transaction has yet to write, and the keys and counter it holds."""

    def __init__(self, conn: Connection, keys: vault.Vault, next_index: int) -> None:
        self.conn = conn
        self.vault = keys
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in statements.INSERTS}
        self._data_keys: dict[str, bytes | None] = {}  # None: no key yet
        self._next = self._counter = next_index

    def take_keys(self, subjects: Sequence[str], rows: Iterable[Any]) -> None:
        """The data keys read for ``subjects`` (a subject without a row has none yet)."""
        self._data_keys.update(dict.fromkeys(subjects))
        for row in rows:
            wrapped = row.wrapped_key
            self._data_keys[row.subject] = (
                ERASED if wrapped is None else self.vault.unwrap(wrapped, row.subject)
            )

    def append(self, event: Event, now: datetime) -> AuditRef:
        """An audit entry at the next index, written with the rest."""
        index = self._next
        self._next += 1
        row = entry_row(index, event, now)
        self.rows["audit_entries"].append(row)
        return AuditRef(index=index, leaf_hash=row["leaf_hash"])

    def data_key(self, subject: str) -> bytes | None:
        """The newcomer's data key: None when it has none yet, ``ERASED`` when shredded."""
        if subject not in self._data_keys:  # not read with the lock
            rows = self.conn.execute(statements.SUBJECT_KEYS, {"subjects": [subject]})
            self.take_keys([subject], rows)
        return self._data_keys[subject]

    def key_for_new_message(self, subject: str, now: datetime) -> bytes:
        """The newcomer's data key, made (and its wrapped row buffered) on first use."""
        key = self.data_key(subject)
        if key == ERASED:
            raise RuntimeError("a message for an erased newcomer reached storage")
        if key is None:
            key = vault.Vault.new_data_key()
            wrapped = self.vault.wrap(key, subject)
            self.rows["subject_keys"].append(
                {"subject": subject, "wrapped_key": wrapped, "created_at": now, "erased_at": None}
            )
            self._data_keys[subject] = key
        return key

    def flush(self) -> None:
        """Write what is buffered, parents before children, and the counter.

        A single message's rows on PostgreSQL go in one statement (the inserts
        as data-modifying CTEs of the counter update): one round trip while the
        counter lock is held. Batches on PostgreSQL stream each table's rows
        with COPY (a tenth of the cost of an executemany there); SQLite, in
        process, takes one executemany per table. (Every message id was looked
        up under the lock first, so a constraint violation here is a bug.)
        """
        tables = [(t, rows) for t, rows in self.rows.items() if rows]
        if not tables and self._next == self._counter:
            return
        if self.conn.dialect.name == "postgresql" and sum(len(r) for _, r in tables) <= 8:
            shape = tuple((table, tuple(rows[0]), len(rows)) for table, rows in tables)
            params = {
                f"{table}_{i}_{column}": value
                for table, rows in tables
                for i, row in enumerate(rows)
                for column, value in row.items()
            }
            statements.combined(shape).run(self.conn, {**params, "next_index": self._next})
        elif self.conn.dialect.name == "postgresql":
            for table, rows in tables:
                statements.copy_rows(self.conn, table, rows)
            statements.SET_COUNTER.run(self.conn, {"next_index": self._next})
        else:
            for table, rows in tables:
                statements.INSERTS[table].run_many(self.conn, rows)
            statements.SET_COUNTER.run(self.conn, {"next_index": self._next})
        for _, rows in tables:
            rows.clear()
        self._counter = self._next
