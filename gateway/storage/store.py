"""The repository: every read and write of the gateway's state, in SQL.

Each write is one transaction that also appends its audit entry, so a state
change without its entry (or the reverse) cannot exist. Every write
transaction first takes the audit counter row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), so appends are serialised across
processes, indices never repeat or leave a gap (which a sequence would), and
what a transaction checked (idempotency, assignments) still holds when it
commits.

Statements are built once at import: SQLAlchemy then reuses their compiled
form, and the per-message path pays for parameters, not for query building.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from gateway.domain import vault
from gateway.domain.assignments import Assignment
from gateway.domain.audit import events
from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.message import Message
from gateway.domain.parties import KeyRecord, Party
from gateway.errors import BadRequest, Conflict, NotFound, Unauthenticated
from gateway.storage import db
from gateway.storage.prepared import Prepared

_RESERVE_INDICES = (
    update(db.audit_counter)
    .where(db.audit_counter.c.id == 1)
    .values(next_index=db.audit_counter.c.next_index + bindparam("count"))
    .returning(db.audit_counter.c.next_index)
)
_INSERT_ENTRY = insert(db.audit_entries)
_FIND_KEY = Prepared(select(db.keys).where(db.keys.c.kid == bindparam("kid")))
_FIND_PARTY = Prepared(select(db.parties).where(db.parties.c.oin == bindparam("oin")))
_FIND_TWO_PARTIES = Prepared(
    select(db.parties).where(
        or_(db.parties.c.oin == bindparam("first"), db.parties.c.oin == bindparam("second"))
    )
)
_FIND_MESSAGE = Prepared(
    select(db.messages.c.message_id, db.messages.c.digest, db.messages.c.receipt).where(
        db.messages.c.message_id == bindparam("message_id")
    )
)
_SENDER, _RECIPIENT = db.parties.alias("sender"), db.parties.alias("recipient")
_FIRST_READS = Prepared(
    select(
        *(c.label(f"key_{c.key}") for c in db.keys.c),
        *(c.label(f"sender_{c.key}") for c in _SENDER.c),
        *(c.label(f"recipient_{c.key}") for c in _RECIPIENT.c),
        db.messages.c.message_id,
        db.messages.c.digest,
        db.messages.c.receipt,
    ).select_from(
        select(literal(1).label("one"))
        .subquery("one")
        .outerjoin(db.keys, db.keys.c.kid == bindparam("kid"))
        .outerjoin(_SENDER, _SENDER.c.oin == bindparam("sender"))
        .outerjoin(_RECIPIENT, _RECIPIENT.c.oin == bindparam("recipient"))
        .outerjoin(db.messages, db.messages.c.message_id == bindparam("message_id"))
    )
)
"""A message's key, parties and stored copy in one row: one round trip before the lock"""
_FIND_MESSAGES = select(
    db.messages.c.message_id, db.messages.c.digest, db.messages.c.receipt
).where(db.messages.c.message_id.in_(bindparam("ids", expanding=True)))
_ASSIGNMENTS = (
    select(db.assignments)
    .where(
        db.assignments.c.municipality == bindparam("municipality"),
        db.assignments.c.subject == bindparam("subject"),
    )
    .order_by(db.assignments.c.id)
)
_SUBJECT_KEYS = select(db.subject_keys.c.subject, db.subject_keys.c.wrapped_key).where(
    db.subject_keys.c.subject.in_(bindparam("subjects", expanding=True))
)
_RAW_ENTRIES = (
    select(db.audit_entries.c.idx, db.audit_entries.c.entry, db.audit_entries.c.leaf_hash)
    .where(db.audit_entries.c.idx >= bindparam("start"), db.audit_entries.c.idx < bindparam("end"))
    .order_by(db.audit_entries.c.idx)
)
_LOCK_COUNTER = (
    select(db.audit_counter.c.next_index, db.subject_keys.c.subject, db.subject_keys.c.wrapped_key)
    .select_from(
        db.audit_counter.outerjoin(
            db.subject_keys,
            db.subject_keys.c.subject.in_(bindparam("subjects", expanding=True)),
        )
    )
    .where(db.audit_counter.c.id == 1)
    .with_for_update(of=db.audit_counter)
)
"""The audit counter row, locked, with the data keys of the given subjects (one row each)"""
_LOCK_COUNTER_ONE = Prepared(
    select(
        db.audit_counter.c.next_index,
        db.subject_keys.c.subject,
        db.subject_keys.c.wrapped_key,
        db.messages.c.message_id,
        db.messages.c.digest,
        db.messages.c.receipt,
    )
    .select_from(
        db.audit_counter.outerjoin(
            db.subject_keys, db.subject_keys.c.subject == bindparam("subject")
        ).outerjoin(db.messages, db.messages.c.message_id == bindparam("message_id"))
    )
    .where(db.audit_counter.c.id == 1)
    .with_for_update(of=db.audit_counter)
)
"""The same for one subject, with the stored message of one id: a single message's
round trip under the lock, prepared"""
_SET_COUNTER = Prepared(
    update(db.audit_counter)
    .where(db.audit_counter.c.id == 1)
    .values(next_index=bindparam("next_index"))
)
_INSERTS = {
    table.name: Prepared(insert(table))
    for table in (
        db.subject_keys,
        db.messages,
        db.assignments,
        db.consent_declarations,
        db.consent_withdrawals,
        db.deliveries,
        db.audit_entries,
    )
}
"""Intake's buffered rows, in an order that puts every parent before its children"""
_FIND_DECLARATION = select(db.consent_declarations).where(
    db.consent_declarations.c.granted_to == bindparam("granted_to"),
    db.consent_declarations.c.declaration_id == bindparam("declaration_id"),
)
_FIND_WITHDRAWAL = select(db.consent_withdrawals.c.id).where(
    db.consent_withdrawals.c.granted_to == bindparam("granted_to"),
    db.consent_withdrawals.c.declaration_id == bindparam("declaration_id"),
)


DELIVERED_TYPES = frozenset({"handover-profile", "progress-report"})
"""Message types that reach the recipient municipality's inbox."""


@dataclass(frozen=True, slots=True)
class Pending:
    delivery_id: str
    cursor: int
    message_id: str
    subject: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRef:
    index: int
    leaf_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message_id: str
    digest: str
    receipt: str


def append(conn: Connection, event: events.Event, now: datetime) -> AuditRef:
    """Append one audit entry inside the caller's write transaction."""
    return append_many(conn, [event], now)[0]


def append_many(conn: Connection, events: Sequence[events.Event], now: datetime) -> list[AuditRef]:
    """Append entries inside the caller's write transaction: one counter update, one insert."""
    end = conn.execute(_RESERVE_INDICES, {"count": len(events)}).scalar_one()
    rows, refs = [], []
    for index, event in enumerate(events, start=end - len(events)):
        row = _entry_row(index, event, now)
        rows.append(row)
        refs.append(AuditRef(index=index, leaf_hash=row["leaf_hash"]))
    conn.execute(_INSERT_ENTRY, rows)
    return refs


def _entry_row(index: int, event: events.Event, now: datetime) -> dict[str, Any]:
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


class Session:
    """One pooled connection for everything one request needs: reads, then a write.

    Keys, parties and stored messages read through a session are kept for its
    lifetime (one request), so a batch of a thousand messages from one sender
    reads its key and parties once.
    """

    def __init__(self, conn: Connection, store: Store) -> None:
        self.conn = conn
        self.store = store
        self._keys: dict[str, KeyRecord | None] = {}
        self._parties: dict[str, Party | None] = {}
        self._messages: dict[str, StoredMessage | None] = {}

    def prefetch(self, kid: str, message_id: str, sender: str, recipient: str) -> None:
        """Read a message's key, its two parties and a stored copy of it in one statement.

        Called with what the unverified payload claims: they are lookup keys
        only, bound as parameters, and nothing is decided until the
        signature is checked; find_key, find_parties and find_message then
        answer from what was read.
        """
        row = _FIRST_READS.first(
            self.conn,
            {"kid": kid, "message_id": message_id, "sender": sender, "recipient": recipient},
        )
        assert row is not None  # the statement always returns its one row
        values = row._asdict()
        key = _joined(values, "key_", "kid")
        self._keys[kid] = _key(key) if key else None
        for name, oin in (("sender_", sender), ("recipient_", recipient)):
            party = _joined(values, name, "oin")
            self._parties[oin] = _party(party) if party else None
        self._messages[message_id] = (
            StoredMessage(row.message_id, row.digest, row.receipt) if row.message_id else None
        )

    def find_key(self, kid: str) -> KeyRecord | None:
        if kid not in self._keys:
            row = _FIND_KEY.first(self.conn, {"kid": kid})
            self._keys[kid] = _key(row) if row else None
        return self._keys[kid]

    def find_message(self, message_id: str) -> StoredMessage | None:
        """The stored message, from this session's earlier reads where it was read."""
        if message_id not in self._messages:
            row = _FIND_MESSAGE.first(self.conn, {"message_id": message_id})
            self._messages[message_id] = StoredMessage(*row) if row else None
        return self._messages[message_id]

    def prefetch_messages(self, message_ids: Sequence[str]) -> None:
        """Look up many message ids in few queries, for find_message to answer from."""
        wanted = [m for m in dict.fromkeys(message_ids) if m not in self._messages]
        found = _find_messages(self.conn, wanted)
        self._messages.update({m: found.get(m) for m in wanted})

    def find_party(self, oin: str) -> Party | None:
        if oin not in self._parties:
            row = _FIND_PARTY.first(self.conn, {"oin": oin})
            self._parties[oin] = _party(row) if row else None
        return self._parties[oin]

    def find_parties(self, first: str, second: str) -> dict[str, Party]:
        """The registered parties among the two OINs, in one query (or none, when known)."""
        wanted = [oin for oin in (first, second) if oin not in self._parties]
        if wanted:
            rows = _FIND_TWO_PARTIES.rows(self.conn, {"first": wanted[0], "second": wanted[-1]})
            found = {row.oin: _party(row) for row in rows}
            self._parties.update({oin: found.get(oin) for oin in wanted})
        return {oin: party for oin in (first, second) if (party := self._parties[oin]) is not None}

    @contextmanager
    def intake(
        self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()
    ) -> Iterator[Intake]:
        """The write transaction, on this session's connection (see Intake).

        The data keys of ``subjects`` and the stored copies of ``message_ids``
        are read with the lock (for one of each, in its statement).
        """
        with db.write_on(self.conn):
            tx = Intake(self.conn, self.store, subjects, message_ids)
            yield tx
            tx.flush()


def _joined(values: dict[str, Any], prefix: str, primary_key: str) -> SimpleNamespace | None:
    """One outer-joined table's columns, named as in the table; None when it matched no row."""
    fields = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
    return None if fields[primary_key] is None else SimpleNamespace(**fields)


def _find_messages(conn: Connection, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
    found: dict[str, StoredMessage] = {}
    for start in range(0, len(message_ids), 500):
        part = list(message_ids[start : start + 500])
        for row in conn.execute(_FIND_MESSAGES, {"ids": part}):
            found[row.message_id] = StoredMessage(*row)
    return found


@functools.lru_cache(maxsize=64)
def _combined(shape: tuple[tuple[str, tuple[str, ...], int], ...]) -> Prepared:
    """One statement for rows of this shape: each table's insert a CTE of the counter update.

    Built once per shape (tables, their columns, row counts) with named
    parameters ``<table>_<row>_<column>``, and compiled once (SQLAlchemy's
    own cache skips statements with DML CTEs).
    """
    ctes = []
    for table_name, columns, count in shape:
        table = db.metadata.tables[table_name]
        rows = [
            {name: bindparam(f"{table_name}_{i}_{name}", type_=table.c[name].type)
             for name in columns}
            for i in range(count)
        ]  # fmt: skip
        ctes.append(insert(table).values(rows).cte(f"insert_{table_name}"))
    return Prepared(
        update(db.audit_counter)
        .where(db.audit_counter.c.id == 1)
        .values(next_index=bindparam("next_index"))
        .add_cte(*ctes)
    )


def _copy(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into ``table`` on the transaction's own psycopg connection.

    Values go as the columns' types store them: datetimes as naive UTC (what
    UTCDateTime binds), the rest as they are. A constraint violation is raised
    as SQLAlchemy's IntegrityError, as an INSERT's would be.
    """
    import psycopg

    quote = conn.dialect.identifier_preparer.quote
    columns = list(rows[0])
    utc = [isinstance(db.metadata.tables[table].c[c].type, db.UTCDateTime) for c in columns]
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    [
                        value.astimezone(UTC).replace(tzinfo=None) if is_utc and value else value
                        for value, is_utc in zip(row.values(), utc, strict=True)
                    ]
                )
    except psycopg.IntegrityError as error:
        raise IntegrityError(sql, None, error) from None


_ERASED = b""
"""A data key that was crypto-shredded (in Intake's key cache)"""


class Intake:
    """One write transaction of the intake pipeline: look up, check, record.

    Opened under the audit counter lock (``BEGIN IMMEDIATE`` on SQLite, the
    counter row ``FOR UPDATE`` on PostgreSQL), which it reads once: indices
    are handed out in memory, so they are consecutive and ours alone until
    commit. Rows are buffered and written one statement per table, before any
    read that could depend on them and when the transaction ends; a batch of
    a thousand profiles costs a handful of statements, not thousands.
    """

    def __init__(
        self,
        conn: Connection,
        store: Store,
        subjects: Sequence[str] = (),
        message_ids: Sequence[str] = (),
    ) -> None:
        self.conn = conn
        self.store = store
        self._rows: dict[str, list[dict[str, Any]]] = {table: [] for table in _INSERTS}
        self._data_keys: dict[str, bytes | None] = {}  # None: no key yet
        # Stored copies of message ids, read with the lock (before this
        # transaction wrote any message): authoritative until it does.
        self._stored_at_lock: dict[str, StoredMessage | None] | None = None
        # One round trip takes the lock, reads the counter and the data keys
        # (and, for one message, its stored copy).
        wanted = list(dict.fromkeys(subjects))
        rows: Sequence[Any]
        if len(wanted) == 1 and len(message_ids) == 1:
            rows = _LOCK_COUNTER_ONE.rows(
                conn, {"subject": wanted[0], "message_id": message_ids[0]}
            )
            row = rows[0]
            self._stored_at_lock = {
                message_ids[0]: StoredMessage(row.message_id, row.digest, row.receipt)
                if row.message_id is not None
                else None
            }
        else:
            rows = conn.execute(_LOCK_COUNTER, {"subjects": wanted}).all()
            if message_ids:
                found = _find_messages(conn, message_ids)
                self._stored_at_lock = {m: found.get(m) for m in message_ids}
        self._next = self._counter = int(rows[0].next_index)
        self._data_keys.update(dict.fromkeys(wanted))
        self._take_keys(row for row in rows if row.subject is not None)

    def _take_keys(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self._data_keys[row.subject] = (
                _ERASED
                if row.wrapped_key is None
                else self.store.vault.unwrap(row.wrapped_key, row.subject)
            )

    def append(self, event: events.Event, now: datetime) -> AuditRef:
        """An audit entry at the next index, written with the rest."""
        index = self._next
        self._next += 1
        row = _entry_row(index, event, now)
        self._rows["audit_entries"].append(row)
        return AuditRef(index=index, leaf_hash=row["leaf_hash"])

    def flush(self) -> None:
        """Write what is buffered, parents before children, and the counter.

        A single message's rows on PostgreSQL go in one statement (the inserts
        as data-modifying CTEs of the counter update): one round trip while the
        counter lock is held, where a statement per table would cost one each.
        Batches on PostgreSQL stream each table's rows with COPY (a tenth of
        the cost of an executemany there); SQLite, in process, takes one
        executemany per table. (Every message id was looked up under the
        lock first, so a constraint violation here is a bug, raised as is.)
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
            _combined(shape).run(self.conn, {**params, "next_index": self._next})
        elif self.conn.dialect.name == "postgresql":
            for table, rows in tables:
                _copy(self.conn, table, rows)
            _SET_COUNTER.run(self.conn, {"next_index": self._next})
        else:
            for table, rows in tables:
                _INSERTS[table].run_many(self.conn, rows)
            _SET_COUNTER.run(self.conn, {"next_index": self._next})
        for _, rows in tables:
            rows.clear()
        self._counter = self._next

    def find_messages(self, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
        """Those of the message ids that are stored, read under the lock: authoritative."""
        known = self._stored_at_lock
        if known is not None and all(m in known for m in message_ids):
            return {m: stored for m in message_ids if (stored := known[m]) is not None}
        self.flush()
        return _find_messages(self.conn, message_ids)

    def data_key(self, subject: str, now: datetime) -> bytes:
        """The newcomer's data key, made on first use.

        Raises Conflict when it was erased: the gateway keeps nothing more of them.
        """
        if subject not in self._data_keys:  # not read with the lock
            self._data_keys[subject] = None
            self._take_keys(self.conn.execute(_SUBJECT_KEYS, {"subjects": [subject]}))
        key = self._data_keys[subject]
        if key == _ERASED:
            raise Conflict(
                "this newcomer's data was erased; the gateway takes no more of it",
                reason="subject-erased",
            )
        if key is None:
            key = vault.Vault.new_data_key()
            self._rows["subject_keys"].append(
                {
                    "subject": subject,
                    "wrapped_key": self.store.vault.wrap(key, subject),
                    "created_at": now,
                    "erased_at": None,
                }
            )
            self._data_keys[subject] = key
        return key

    def assignment_history(self, municipality: str, v_number: str) -> list[Assignment]:
        """Every assignment version for this newcomer at this municipality, oldest first."""
        self.flush()
        rows = self.conn.execute(
            _ASSIGNMENTS,
            {"municipality": municipality, "subject": self.store.pseudonym(v_number)},
        ).all()
        return [
            Assignment(
                assignment_id=r.assignment_id,
                municipality=r.municipality,
                provider=r.provider,
                route=r.route,
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                status=r.status,
            )
            for r in rows
        ]

    def declaration_subject(self, granted_to: str, declaration_id: str) -> str | None:
        """The pseudonym a recorded declaration is about, or None if there is none."""
        self.flush()
        row = self.conn.execute(
            _FIND_DECLARATION, {"granted_to": granted_to, "declaration_id": declaration_id}
        ).first()
        return None if row is None else str(row.subject)

    def is_withdrawn(self, granted_to: str, declaration_id: str) -> bool:
        self.flush()
        params = {"granted_to": granted_to, "declaration_id": declaration_id}
        return self.conn.execute(_FIND_WITHDRAWAL, params).first() is not None

    def record(
        self,
        message: Message,
        now: datetime,
        trace_id: str,
        make_receipt: Callable[[AuditRef], str],
        assignment: Assignment | None = None,
        consent_fact: Declaration | Withdrawal | None = None,
    ) -> StoredMessage:
        """Store the message sealed, with its audit entry and its receipt.

        Raises Conflict when the newcomer's data was erased (crypto-shredded).
        """
        subject = self.store.pseudonym(message.v_number)
        data_key = self.data_key(subject, now)
        ref = self.append(
            events.Event(
                event="message.accepted",
                actor=message.sender,
                outcome="accepted",
                trace_id=trace_id,
                subject=subject,
                message_id=message.message_id,
                type=message.type,
                processing_activity=events.PROCESSING_ACTIVITY[message.type],
            ),
            now,
        )
        receipt = make_receipt(ref)
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
                "audit_index": ref.index,
                "receipt": receipt,
                "sealed": vault.seal(data_key, message.raw, message.message_id),
            }
        )
        if assignment is not None:
            self._rows["assignments"].append(
                {
                    "assignment_id": assignment.assignment_id,
                    "message_id": message.message_id,
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
        if consent_fact is not None:
            self._record_consent(message, subject, consent_fact, now, trace_id)
        if message.type in DELIVERED_TYPES:
            self._rows["deliveries"].append(
                {
                    "delivery_id": str(uuid.uuid4()),
                    "cursor": ref.index,
                    "message_id": message.message_id,
                    "recipient": message.recipient,
                    "subject": subject,
                    "acknowledged_at": None,
                    "created_at": now,
                    "leased_until": None,
                }
            )
        return StoredMessage(message.message_id, message.digest, receipt)

    def _record_consent(
        self,
        message: Message,
        subject: str,
        fact: Declaration | Withdrawal,
        now: datetime,
        trace_id: str,
    ) -> None:
        """The consent fact, and its own audit event beside message.accepted."""
        common = {
            "declaration_id": fact.declaration_id,
            "message_id": message.message_id,
            "recorded_by": message.sender,
            "granted_to": message.recipient,
            "subject": subject,
            "recorded_at": now,
        }
        if isinstance(fact, Declaration):
            self._rows["consent_declarations"].append(
                {
                    **common,
                    "sources": json.dumps(sorted(fact.sources)),
                    "categories": json.dumps(sorted(fact.categories)),
                    "purposes": json.dumps(sorted(fact.purposes)),
                    "explicit_health_consent": fact.explicit_health_consent,
                    "valid_from": fact.valid_from,
                    "valid_until": fact.valid_until,
                }
            )
            event, reason = "consent.recorded", f"declaration:{fact.declaration_id}"
        else:
            self._rows["consent_withdrawals"].append(
                {**common, "withdrawn_at": fact.withdrawn_at, "by": fact.by}
            )
            kind = "revoked" if fact.by == "recording-party" else "withdrawn"
            event, reason = "consent.withdrawn", f"{kind}:{fact.declaration_id}"
        self.append(
            events.Event(
                event=event,
                actor=message.sender,
                outcome="ok",
                trace_id=trace_id,
                subject=subject,
                message_id=message.message_id,
                type=message.type,
                reason=reason,
                processing_activity=events.PROCESSING_ACTIVITY[message.type],
            ),
            now,
        )


class Store:
    def __init__(self, engine: Engine, vault_: vault.Vault, pseudonym_key: bytes) -> None:
        self.engine = engine
        self.vault = vault_
        self.pseudonym_key = pseudonym_key

    def pseudonym(self, v_number: str) -> str:
        return events.pseudonym(self.pseudonym_key, v_number)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction holding the audit counter lock from its start."""
        with db.write(self.engine) as conn:
            db.lock_audit_counter(conn)
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One connection for one message's reads and its write transaction.

        The reads run without a transaction (each statement its own snapshot,
        as on SQLite), which spares PostgreSQL a BEGIN and a COMMIT round trip.
        """
        with db.translate_busy(), self.engine.connect() as conn:
            db.autocommit_reads(conn)
            yield Session(conn, self)

    # -- audit ---------------------------------------------------------------

    def record_event(self, event: events.Event, now: datetime) -> AuditRef:
        """An audit entry on its own (refusals, reads)."""
        with self.writing() as conn:
            return append(conn, event, now)

    def record_events(self, events: Sequence[events.Event], now: datetime) -> None:
        """Several entries in one transaction (a pull's deliveries)."""
        if events:
            with self.writing() as conn:
                append_many(conn, events, now)

    # -- retention ---------------------------------------------------------------

    def purge(self, before: datetime, now: datetime, *, dry_run: bool = False) -> int:
        """Crypto-shred the newcomers whose retention ended; return how many.

        Eligible: every delivery acknowledged, the last acknowledgement before
        ``before``, and no open delivery. Their data key is erased (so every
        sealed body of theirs is unreadable by anyone, backups included once the
        key is gone from them too) and their deliveries are deleted. The audit
        log, which holds only hashes and pseudonyms, is untouched and verifies.
        """
        d, keys = db.deliveries, db.subject_keys
        with self.writing() as conn:
            open_subjects = select(d.c.subject).where(d.c.acknowledged_at.is_(None))
            eligible = [
                row.subject
                for row in conn.execute(
                    select(d.c.subject)
                    .where(d.c.subject.not_in(open_subjects))
                    .group_by(d.c.subject)
                    .having(func.max(d.c.acknowledged_at) < before)
                )
            ]
            if not dry_run and eligible:
                conn.execute(
                    update(keys)
                    .where(keys.c.subject.in_(eligible), keys.c.wrapped_key.is_not(None))
                    .values(wrapped_key=None, erased_at=now)
                )
                conn.execute(delete(d).where(d.c.subject.in_(eligible)))
        return len(eligible)

    # -- inbox -----------------------------------------------------------------

    def pending_deliveries(
        self,
        recipient: str,
        after: int,
        limit: int,
        now: datetime,
        lease: timedelta = timedelta(0),
    ) -> list[Pending]:
        """Unacknowledged deliveries for ``recipient`` beyond the cursor, in cursor order.

        A delivery leased to another pull is skipped until its lease ends. With
        a ``lease``, the page is leased to this pull: the rows are taken with
        ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL; SQLite's write lock
        serialises pulls), so two pullers of one municipality never get one
        delivery at once, and neither waits on the other or on the audit lock.
        """
        d, m = db.deliveries, db.messages
        query = (
            select(d.c.delivery_id, d.c.cursor, d.c.message_id, d.c.subject, m.c.received_at)
            .join(m, m.c.message_id == d.c.message_id)
            .where(
                d.c.recipient == recipient,
                d.c.cursor > after,
                d.c.acknowledged_at.is_(None),
                or_(d.c.leased_until.is_(None), d.c.leased_until <= now),
            )
            .order_by(d.c.cursor)
            .limit(limit)
        )
        if not lease:
            with db.read(self.engine) as conn:
                return [Pending(*row) for row in conn.execute(query).all()]
        with db.write(self.engine) as conn:
            rows = conn.execute(query.with_for_update(skip_locked=True, of=d)).all()
            if rows:
                conn.execute(
                    update(d)
                    .where(d.c.delivery_id.in_([row.delivery_id for row in rows]))
                    .values(leased_until=now + lease)
                )
        return [Pending(*row) for row in rows]

    def acknowledge(
        self,
        recipient: str,
        delivery_id: str,
        now: datetime,
        event: Callable[[Pending, bool], events.Event],
    ) -> None:
        """Mark a delivery acknowledged (once) and audit the ack (every time).

        Raises NotFound when there is no such delivery for ``recipient``: another
        municipality's delivery is as absent as one that does not exist.
        """
        d = db.deliveries
        with self.writing() as conn:
            row = conn.execute(
                select(
                    d.c.delivery_id,
                    d.c.cursor,
                    d.c.message_id,
                    d.c.subject,
                    d.c.created_at,
                    d.c.acknowledged_at,
                ).where(d.c.delivery_id == delivery_id, d.c.recipient == recipient)
            ).first()
            if row is None:
                raise NotFound("no such delivery")
            first = row.acknowledged_at is None
            if first:
                conn.execute(
                    update(d).where(d.c.delivery_id == delivery_id).values(acknowledged_at=now)
                )
            pending = Pending(
                row.delivery_id, row.cursor, row.message_id, row.subject, row.created_at
            )
            append(conn, event(pending, first), now)

    def audit_entries(self, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        query = select(db.audit_entries).where(db.audit_entries.c.idx >= start)
        if end is not None:
            query = query.where(db.audit_entries.c.idx < end)
        with db.read(self.engine) as conn:
            rows = conn.execute(query.order_by(db.audit_entries.c.idx)).all()
        return [_entry(r) for r in rows]

    # -- parties and keys ----------------------------------------------------

    def _admin_event(self, event: str, actor: str, trace_id: str, reason: str) -> events.Event:
        return events.Event(
            event=event,
            actor=actor,
            outcome="ok",
            trace_id=trace_id,
            processing_activity=events.ADMINISTRATION,
            reason=reason,
        )

    def add_party(self, party: Party, now: datetime, trace_id: str) -> None:
        """Raises Conflict when the OIN or municipality code is registered already."""
        try:
            with self.writing() as conn:
                conn.execute(
                    insert(db.parties).values(
                        oin=party.oin,
                        role=party.role,
                        name=party.name,
                        municipality_code=party.municipality_code,
                        created_at=now,
                    )
                )
                append(
                    conn,
                    self._admin_event(
                        "party.registered", party.oin, trace_id, f"role:{party.role}"
                    ),
                    now,
                )
        except IntegrityError:
            raise Conflict(
                "party (or municipality code) already registered", reason="already-registered"
            ) from None

    def find_party(self, oin: str) -> Party | None:
        with self.session() as session:
            return session.find_party(oin)

    def list_parties(self) -> list[Party]:
        with db.read(self.engine) as conn:
            rows = conn.execute(select(db.parties).order_by(db.parties.c.oin)).all()
        return [_party(r) for r in rows]

    def add_key(self, record: KeyRecord, now: datetime, trace_id: str) -> None:
        """Raises NotFound for an unknown party, Conflict for a key registered already."""
        try:
            with self.writing() as conn:
                if _FIND_PARTY.first(conn, {"oin": record.oin}) is None:
                    raise NotFound("no party with this OIN")
                conn.execute(
                    insert(db.keys).values(
                        kid=record.kid,
                        oin=record.oin,
                        jwk=json.dumps(record.jwk, sort_keys=True),
                        not_before=record.not_before,
                        not_after=record.not_after,
                        revoked_at=None,
                        created_at=now,
                    )
                )
                append(
                    conn,
                    self._admin_event("key.registered", record.oin, trace_id, f"kid:{record.kid}"),
                    now,
                )
        except IntegrityError:
            raise Conflict("key already registered", reason="already-registered") from None

    def revoke_key(self, kid: str, now: datetime, trace_id: str) -> KeyRecord:
        """Revoke from ``now`` on. Raises NotFound for an unknown kid, BadRequest if revoked."""
        with self.writing() as conn:
            row = _FIND_KEY.first(conn, {"kid": kid})
            if row is None:
                raise NotFound("no key with this kid")
            if row.revoked_at is not None:
                raise BadRequest("key already revoked")
            conn.execute(update(db.keys).where(db.keys.c.kid == kid).values(revoked_at=now))
            append(conn, self._admin_event("key.revoked", row.oin, trace_id, f"kid:{kid}"), now)
        return dataclasses.replace(_key(row), revoked_at=now)

    def use_jti(self, iss: str, jti: str, keep_until: datetime, now: datetime) -> None:
        """Record an assertion's jti; forget those past their time.

        Raises Unauthenticated when the jti was used before (a replay).
        """
        try:
            with db.write(self.engine) as conn:
                conn.execute(delete(db.assertion_jtis).where(db.assertion_jtis.c.expires_at < now))
                conn.execute(
                    insert(db.assertion_jtis).values(iss=iss, jti=jti, expires_at=keep_until)
                )
        except IntegrityError:
            raise Unauthenticated("assertion already used") from None

    def audit_entries_raw(self, start: int, end: int) -> list[tuple[int, bytes, str]]:
        """(index, canonical bytes, leaf hash) of entries [start, end), for serving as they are."""
        with db.read(self.engine) as conn:
            rows = conn.execute(_RAW_ENTRIES, {"start": start, "end": end}).tuples().all()
        return [(idx, bytes(entry), leaf) for idx, entry, leaf in rows]

    def subject_entries(self, subject: str) -> list[dict[str, Any]]:
        """Every audit entry about one newcomer (by pseudonym), oldest first."""
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(db.audit_entries)
                .where(db.audit_entries.c.subject == subject)
                .order_by(db.audit_entries.c.idx)
            ).all()
        return [_entry(r) for r in rows]

    def _consent_rows(self, granted_to: str, v_number: str) -> tuple[Sequence[Any], Sequence[Any]]:
        subject = self.pseudonym(v_number)
        declarations, withdrawals = db.consent_declarations, db.consent_withdrawals
        with db.read(self.engine) as conn:
            declared = conn.execute(
                select(declarations)
                .where(declarations.c.granted_to == granted_to, declarations.c.subject == subject)
                .order_by(declarations.c.id)
            ).all()
            withdrawn = conn.execute(
                select(withdrawals)
                .where(withdrawals.c.granted_to == granted_to, withdrawals.c.subject == subject)
                .order_by(withdrawals.c.id)
            ).all()
        return declared, withdrawn

    def read_messages(self, message_ids: Sequence[str]) -> dict[str, bytes]:
        """Raw JWSs of several messages in one query; erased ones are absent."""
        m, k = db.messages, db.subject_keys
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(m.c.message_id, m.c.sealed, m.c.subject, k.c.wrapped_key)
                .join(k, k.c.subject == m.c.subject)
                .where(m.c.message_id.in_(list(message_ids)), k.c.wrapped_key.is_not(None))
            ).all()
        keys: dict[str, bytes] = {}
        found = {}
        for row in rows:
            if row.subject not in keys:
                keys[row.subject] = self.vault.unwrap(row.wrapped_key, row.subject)
            found[row.message_id] = vault.unseal(keys[row.subject], row.sealed, row.message_id)
        return found

    def consent_histories(
        self, granted_to: str, subjects: Sequence[str]
    ) -> dict[str, tuple[list[Declaration], list[Withdrawal]]]:
        """Consent history per pseudonym for several newcomers, in two queries."""
        declarations, withdrawals = db.consent_declarations, db.consent_withdrawals
        wanted = sorted(set(subjects))
        found: dict[str, tuple[list[Declaration], list[Withdrawal]]] = {s: ([], []) for s in wanted}
        with db.read(self.engine) as conn:
            for row in conn.execute(
                select(declarations)
                .where(declarations.c.granted_to == granted_to, declarations.c.subject.in_(wanted))
                .order_by(declarations.c.id)
            ):
                found[row.subject][0].append(_declaration(row))
            for row in conn.execute(
                select(withdrawals)
                .where(withdrawals.c.granted_to == granted_to, withdrawals.c.subject.in_(wanted))
                .order_by(withdrawals.c.id)
            ):
                found[row.subject][1].append(
                    Withdrawal(row.declaration_id, row.withdrawn_at, row.by)
                )
        return found

    def consent_history(
        self, granted_to: str, v_number: str
    ) -> tuple[list[Declaration], list[Withdrawal]]:
        """Every declaration and withdrawal for this newcomer at this municipality."""
        subject = self.pseudonym(v_number)
        return self.consent_histories(granted_to, [subject])[subject]

    def consent_records(self, granted_to: str, v_number: str) -> list[dict[str, Any]]:
        """The same history as records for the municipality, newest first."""
        declared, withdrawn = self._consent_rows(granted_to, v_number)
        records: list[dict[str, Any]] = [
            {
                "kind": "declaration",
                "declaration_id": r.declaration_id,
                "message_id": r.message_id,
                "recorded_by": r.recorded_by,
                "sources": json.loads(r.sources),
                "categories": json.loads(r.categories),
                "purposes": json.loads(r.purposes),
                "explicit_health_consent": r.explicit_health_consent,
                "valid_from": events.format_time(r.valid_from),
                "valid_until": events.format_time(r.valid_until),
                "recorded_at": events.format_time(r.recorded_at),
            }
            for r in declared
        ] + [
            {
                "kind": "withdrawal",
                "declaration_id": r.declaration_id,
                "message_id": r.message_id,
                "recorded_by": r.recorded_by,
                "withdrawn_at": events.format_time(r.withdrawn_at),
                "by": r.by,
                "recorded_at": events.format_time(r.recorded_at),
            }
            for r in withdrawn
        ]
        return sorted(records, key=lambda r: r["recorded_at"], reverse=True)

    def list_keys(self, oin: str | None = None) -> list[KeyRecord]:
        query = select(db.keys).order_by(db.keys.c.oin, db.keys.c.created_at)
        if oin is not None:
            query = query.where(db.keys.c.oin == oin)
        with db.read(self.engine) as conn:
            return [_key(r) for r in conn.execute(query).all()]

    # -- messages ------------------------------------------------------------

    def find_message(self, message_id: str) -> StoredMessage | None:
        with self.session() as session:
            return session.find_message(message_id)

    def read_message(self, message_id: str) -> bytes:
        """The raw JWS as received, unsealed. Raises NotFound if absent or erased."""
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(db.messages.c.sealed, db.subject_keys.c.wrapped_key, db.messages.c.subject)
                .join(db.subject_keys, db.subject_keys.c.subject == db.messages.c.subject)
                .where(db.messages.c.message_id == message_id)
            ).first()
        if row is None or row.wrapped_key is None:
            raise NotFound("no such message")
        data_key = self.vault.unwrap(row.wrapped_key, row.subject)
        return vault.unseal(data_key, row.sealed, message_id)

    def count(self, table: str) -> int:
        """Rows in a table (tests, demo, benchmarks)."""
        tables = {t.name: t for t in db.metadata.sorted_tables}
        if table not in tables:
            raise ValueError("unknown table")
        with db.read(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(tables[table])).scalar_one())

    def ping(self) -> None:
        with db.read(self.engine) as conn:
            conn.execute(text("SELECT 1"))


def _declaration(row: Any) -> Declaration:
    return Declaration(
        declaration_id=row.declaration_id,
        granted_to=row.granted_to,
        sources=frozenset(json.loads(row.sources)),
        categories=frozenset(json.loads(row.categories)),
        purposes=frozenset(json.loads(row.purposes)),
        explicit_health_consent=row.explicit_health_consent,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def _entry(row: Any) -> dict[str, Any]:
    return {"index": row.idx, "entry": json.loads(row.entry), "leaf_hash": row.leaf_hash}


def _party(row: Any) -> Party:
    return Party(oin=row.oin, role=row.role, name=row.name, municipality_code=row.municipality_code)


def _key(row: Any) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        oin=row.oin,
        jwk=json.loads(row.jwk),
        not_before=row.not_before,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
    )
