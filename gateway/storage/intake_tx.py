"""Intake's write transaction: checked and recorded under the audit counter lock.

The service appends its audit entries here and hands over the rows of what
it accepted; this module buffers them and writes one statement per table.
Bodies are sealed here, with the newcomer's data key: encryption at rest is
this layer's concern.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.domain import progress, vault
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import Event
from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.message import Message
from gateway.domain.records import AuditRef, History, Notice, StoredMessage
from gateway.storage import consent, statements, tables
from gateway.storage.auditlog import entry_row
from gateway.storage.handouts import HandoutRows
from gateway.storage.inbox import delivery_row
from gateway.storage.regie import RegieRows, regie_aad

_ERASED = b""
"""A data key that was crypto-shredded (in Intake's key cache)"""


class Intake(RegieRows, HandoutRows):
    """One write transaction of intake: looked up, checked and recorded under the lock.

    It reads the counter once, with the lock: indices are handed out in
    memory, so they are consecutive and ours alone until commit. Rows are
    buffered and written one statement per table, before any read that could
    depend on them and when the transaction ends; a batch of a thousand
    profiles costs a handful of statements, not thousands.
    """

    def __init__(
        self,
        conn: Connection,
        keys: vault.Vault,
        subjects: Sequence[str] = (),
        message_ids: Sequence[str] = (),
    ) -> None:
        self.conn = conn
        self.vault = keys
        self._rows: dict[str, list[dict[str, Any]]] = {t: [] for t in statements.INSERTS}
        self._data_keys: dict[str, bytes | None] = {}  # None: no key yet
        # Stored copies of message ids, read with the lock (before this
        # transaction wrote any message): authoritative until it does.
        self._stored_at_lock: dict[str, StoredMessage | None] | None = None
        wanted = list(dict.fromkeys(subjects))
        rows: Sequence[Any]
        if len(wanted) == 1 and len(message_ids) == 1:
            params = {"subject": wanted[0], "message_id": message_ids[0]}
            rows = statements.LOCK_COUNTER_ONE.rows(conn, params)
            row = rows[0]
            stored = StoredMessage(row.message_id, row.digest, row.receipt)
            self._stored_at_lock = {message_ids[0]: stored if row.message_id else None}
        else:
            rows = conn.execute(statements.LOCK_COUNTER, {"subjects": wanted}).all()
            if message_ids:
                found = statements.find_messages(conn, message_ids)
                self._stored_at_lock = {m: found.get(m) for m in message_ids}
        self._next = self._counter = int(rows[0].next_index)
        self._data_keys.update(dict.fromkeys(wanted))
        self._take_keys(row for row in rows if row.subject is not None)

    def _take_keys(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self._data_keys[row.subject] = (
                _ERASED
                if row.wrapped_key is None
                else self.vault.unwrap(row.wrapped_key, row.subject)
            )

    def append(self, event: Event, now: datetime) -> AuditRef:
        """An audit entry at the next index, written with the rest."""
        index = self._next
        self._next += 1
        row = entry_row(index, event, now)
        self._rows["audit_entries"].append(row)
        return AuditRef(index=index, leaf_hash=row["leaf_hash"])

    def flush(self) -> None:
        """Write what is buffered, parents before children, and the counter.

        A single message's rows on PostgreSQL go in one statement (the inserts
        as data-modifying CTEs of the counter update): one round trip while the
        counter lock is held. Batches on PostgreSQL stream each table's rows
        with COPY (a tenth of the cost of an executemany there); SQLite, in
        process, takes one executemany per table. (Every message id was looked
        up under the lock first, so a constraint violation here is a bug.)
        """
        tables = [(t, rows) for t, rows in self._rows.items() if rows]
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

    def find_messages(self, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
        """Those of the message ids that are stored, read under the lock: authoritative."""
        known = self._stored_at_lock
        if known is not None and all(m in known for m in message_ids):
            return {m: stored for m in message_ids if (stored := known[m]) is not None}
        self.flush()
        return statements.find_messages(self.conn, message_ids)

    def is_erased(self, subject: str) -> bool:
        """Whether the newcomer's data key was crypto-shredded."""
        return self._data_key(subject) == _ERASED

    def _data_key(self, subject: str) -> bytes | None:
        if subject not in self._data_keys:  # not read with the lock
            self._data_keys[subject] = None
            self._take_keys(self.conn.execute(statements.SUBJECT_KEYS, {"subjects": [subject]}))
        return self._data_keys[subject]

    def sealed_view(self, message: Message, subject: str) -> bytes | None:
        """What regie reads of the message (``progress.regie_view``), sealed under the
        newcomer's data key with the message id and ``/regie`` as associated data.

        Called after the message itself was added, so the key exists.
        """
        view = progress.regie_view(message)
        key = self._data_key(subject)
        if view is None or not key:
            return None
        raw = json.dumps(view, separators=(",", ":")).encode()
        return vault.seal(key, raw, regie_aad(message.message_id))

    def _key_for_new_message(self, subject: str, now: datetime) -> bytes:
        key = self._data_key(subject)
        if key == _ERASED:
            raise RuntimeError("a message for an erased newcomer reached storage")
        if key is None:
            key = vault.Vault.new_data_key()
            wrapped = self.vault.wrap(key, subject)
            self._rows["subject_keys"].append(
                {"subject": subject, "wrapped_key": wrapped, "created_at": now, "erased_at": None}
            )
            self._data_keys[subject] = key
        return key

    def assignment_history(self, municipality: str, subject: str) -> list[Assignment]:
        """Every assignment version for this newcomer at this municipality, oldest first."""
        self.flush()
        params = {"municipality": municipality, "subject": subject}
        return [_assignment(r) for r in self.conn.execute(statements.ASSIGNMENTS, params)]

    def placement(self, subject: str) -> str | None:
        """The municipality the newcomer is placed with now (this transaction's rows count)."""
        self.flush()
        row = self.conn.execute(statements.PLACEMENT, {"subject": subject}).first()
        return None if row is None else str(row.municipality)

    def add_placement(
        self, message: Message, subject: str, audit_index: int, now: datetime
    ) -> None:
        """The newcomer is placed with the recipient of this handover profile, from now on."""
        self._rows["placements"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "message_id": message.message_id,
                "placed_at": now,
                "linked_on": message.body["placement"].get("linked_on"),
                "regie": self.sealed_view(message, subject),
            }
        )

    def declaration_subject(self, granted_to: str, declaration_id: str) -> str | None:
        """The pseudonym a recorded declaration is about, or None if there is none."""
        self.flush()
        params = {"granted_to": granted_to, "declaration_id": declaration_id}
        row = self.conn.execute(statements.FIND_DECLARATION, params).first()
        return None if row is None else str(row.subject)

    def is_withdrawn(self, granted_to: str, declaration_id: str) -> bool:
        self.flush()
        params = {"granted_to": granted_to, "declaration_id": declaration_id}
        return self.conn.execute(statements.FIND_WITHDRAWAL, params).first() is not None

    def add_message(
        self, message: Message, subject: str, now: datetime, audit_index: int, receipt: str
    ) -> None:
        """The accepted message, sealed under its newcomer's data key (made on first use)."""
        sealed = vault.seal(
            self._key_for_new_message(subject, now), message.raw, message.message_id
        )
        self._stored_at_lock = None  # from now on this transaction has written messages
        self._rows["messages"].append(
            {
                "message_id": message.message_id,
                "digest": message.digest,
                "type": message.type,
                "version": message.version,
                "sender": message.sender,
                "recipient": message.recipient,
                "subject": subject,
                "kid": message.kid,
                "issued_at": message.issued_at,
                "received_at": now,
                "audit_index": audit_index,
                "receipt": receipt,
                "sealed": sealed,
            }
        )

    def add_assignment(
        self, assignment: Assignment, message_id: str, subject: str, now: datetime
    ) -> None:
        self._rows["assignments"].append(
            {
                "assignment_id": assignment.assignment_id,
                "message_id": message_id,
                "municipality": assignment.municipality,
                "provider": assignment.provider,
                "subject": subject,
                "route": assignment.route,
                "valid_from": assignment.valid_from,
                "valid_until": assignment.valid_until,
                "status": assignment.status,
                "recorded_at": now,
            }
        )

    def add_consent(
        self, fact: Declaration | Withdrawal, message: Message, subject: str, now: datetime
    ) -> None:
        """A declaration or withdrawal, recorded by ``message`` for its recipient."""
        common = {
            "declaration_id": fact.declaration_id,
            "message_id": message.message_id,
            "recorded_by": message.sender,
            "granted_to": message.recipient,
            "subject": subject,
            "recorded_at": now,
        }
        if isinstance(fact, Withdrawal):
            self._rows["consent_withdrawals"].append(
                {**common, "withdrawn_at": fact.withdrawn_at, "by": fact.by}
            )
            return
        self._rows["consent_declarations"].append(
            {
                **common,
                "sources": json.dumps(sorted(fact.sources)),
                "categories": json.dumps(sorted(fact.categories)),
                "purposes": json.dumps(sorted(fact.purposes)),
                "explicit_health_consent": fact.explicit_health_consent,
                "valid_from": fact.valid_from,
                "valid_until": fact.valid_until,
                "explained_in_language": fact.explained_in_language,
                "interpreter_used": fact.interpreter_used,
            }
        )

    def add_delivery(self, message: Message, subject: str, cursor: int, now: datetime) -> str:
        """An inbox entry for the message's recipient; ``cursor`` orders the inbox. Its id."""
        row = delivery_row(message.recipient, message.message_id, subject, cursor, now)
        self._rows["deliveries"].append(row)
        return str(row["delivery_id"])

    def consent_history(self, granted_to: str, subject: str) -> History:
        """The newcomer's consent facts at ``granted_to``, this transaction's included."""
        self.flush()
        return consent.histories_on(self.conn, granted_to, [subject])[subject]

    def carried(self, recipient: str, declaration_id: str, categories: Sequence[str]) -> list[str]:
        """The deliveries pulled that carried any of ``categories`` on this declaration."""
        c = tables.carried
        query = (
            select(c.c.delivery_id)
            .where(
                c.c.recipient == recipient,
                c.c.declaration_id == declaration_id,
                c.c.category.in_(list(categories)),
            )
            .distinct()
            .order_by(c.c.delivery_id)
        )
        return [row.delivery_id for row in self.conn.execute(query)] if categories else []

    def add_notice(
        self, message: Message, subject: str, cursor: int, now: datetime, notice: Notice
    ) -> None:
        """A withdrawal notice in the recipient's inbox, ordered by ``cursor``."""
        delivery_id = self.add_delivery(message, subject, cursor, now)
        self._rows["notices"].append(
            {
                "delivery_id": delivery_id,
                "declaration_id": notice.declaration_id,
                "withdrawn_at": notice.withdrawn_at,
                "categories": json.dumps(list(notice.categories)),
                "affected_deliveries": json.dumps(list(notice.affected_deliveries)),
            }
        )


def _assignment(row: Any) -> Assignment:
    return Assignment(
        assignment_id=row.assignment_id,
        municipality=row.municipality,
        provider=row.provider,
        route=row.route,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        status=row.status,
    )
