"""The statements of the hot path, built once at import, and rows made into values.

SQLAlchemy compiles each statement once per dialect; ``Prepared`` ones run on
the driver's cursor (see ``prepared``). The per-message path pays for
parameters, not for query building.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.domain.parties import KeyRecord, Party
from gateway.domain.records import StoredMessage
from gateway.storage import tables
from gateway.storage.prepared import Prepared

FIND_KEY = Prepared(select(tables.keys).where(tables.keys.c.kid == bindparam("kid")))
FIND_PARTY = Prepared(select(tables.parties).where(tables.parties.c.oin == bindparam("oin")))
FIND_TWO_PARTIES = Prepared(
    select(tables.parties).where(
        or_(tables.parties.c.oin == bindparam("first"), tables.parties.c.oin == bindparam("second"))
    )
)
FIND_MESSAGE = Prepared(
    select(tables.messages.c.message_id, tables.messages.c.digest, tables.messages.c.receipt).where(
        tables.messages.c.message_id == bindparam("message_id")
    )
)
SENDER, RECIPIENT = tables.parties.alias("sender"), tables.parties.alias("recipient")
FIRST_READS = Prepared(
    select(
        *(c.label(f"key_{c.key}") for c in tables.keys.c),
        *(c.label(f"sender_{c.key}") for c in SENDER.c),
        *(c.label(f"recipient_{c.key}") for c in RECIPIENT.c),
        tables.messages.c.message_id,
        tables.messages.c.digest,
        tables.messages.c.receipt,
    ).select_from(
        select(literal(1).label("one"))
        .subquery("one")
        .outerjoin(tables.keys, tables.keys.c.kid == bindparam("kid"))
        .outerjoin(SENDER, SENDER.c.oin == bindparam("sender"))
        .outerjoin(RECIPIENT, RECIPIENT.c.oin == bindparam("recipient"))
        .outerjoin(tables.messages, tables.messages.c.message_id == bindparam("message_id"))
    )
)
"""A message's key, parties and stored copy in one row: one round trip before the lock"""
FIND_SIGNER = Prepared(
    select(
        *(c.label(f"key_{c.key}") for c in tables.keys.c),
        *(c.label(f"party_{c.key}") for c in tables.parties.c),
    )
    .join(tables.parties, tables.parties.c.oin == tables.keys.c.oin)
    .where(tables.keys.c.kid == bindparam("kid"))
)
"""A key with the party that owns it: what authenticating a request reads, in one row"""
FIND_MESSAGES = select(
    tables.messages.c.message_id, tables.messages.c.digest, tables.messages.c.receipt
).where(tables.messages.c.message_id.in_(bindparam("ids", expanding=True)))
ASSIGNMENTS = (
    select(tables.assignments)
    .where(
        tables.assignments.c.municipality == bindparam("municipality"),
        tables.assignments.c.subject == bindparam("subject"),
    )
    .order_by(tables.assignments.c.id)
)
PLACEMENT = (
    select(tables.placements.c.municipality)
    .where(tables.placements.c.subject == bindparam("subject"))
    .order_by(tables.placements.c.audit_index.desc())
    .limit(1)
)
"""Where a newcomer is placed now: the newest accepted handover profile's recipient"""
SUBJECT_KEYS = select(tables.subject_keys.c.subject, tables.subject_keys.c.wrapped_key).where(
    tables.subject_keys.c.subject.in_(bindparam("subjects", expanding=True))
)
LOCK_COUNTER = (
    select(
        tables.audit_counter.c.next_index,
        tables.subject_keys.c.subject,
        tables.subject_keys.c.wrapped_key,
    )
    .select_from(
        tables.audit_counter.outerjoin(
            tables.subject_keys,
            tables.subject_keys.c.subject.in_(bindparam("subjects", expanding=True)),
        )
    )
    .where(tables.audit_counter.c.id == 1)
    .with_for_update(of=tables.audit_counter)
)
"""The audit counter row, locked, with the data keys of the given subjects (one row each)"""
LOCK_COUNTER_ONE = Prepared(
    select(
        tables.audit_counter.c.next_index,
        tables.subject_keys.c.subject,
        tables.subject_keys.c.wrapped_key,
        tables.messages.c.message_id,
        tables.messages.c.digest,
        tables.messages.c.receipt,
    )
    .select_from(
        tables.audit_counter.outerjoin(
            tables.subject_keys, tables.subject_keys.c.subject == bindparam("subject")
        ).outerjoin(tables.messages, tables.messages.c.message_id == bindparam("message_id"))
    )
    .where(tables.audit_counter.c.id == 1)
    .with_for_update(of=tables.audit_counter)
)
"""The same for one subject, with the stored message of one id: a single message's
round trip under the lock, prepared"""
SET_COUNTER = Prepared(
    update(tables.audit_counter)
    .where(tables.audit_counter.c.id == 1)
    .values(next_index=bindparam("next_index"))
)
INSERTS = {table.name: Prepared(insert(table)) for table in tables.metadata.sorted_tables}
"""Every table's insert, parents before children (the foreign keys order the metadata):
intake's buffered rows go in this order, so a new aggregate's table needs no line here"""
FIND_DECLARATION = select(tables.consent_declarations).where(
    tables.consent_declarations.c.granted_to == bindparam("granted_to"),
    tables.consent_declarations.c.declaration_id == bindparam("declaration_id"),
)
FIND_WITHDRAWAL = select(tables.consent_withdrawals.c.id).where(
    tables.consent_withdrawals.c.granted_to == bindparam("granted_to"),
    tables.consent_withdrawals.c.declaration_id == bindparam("declaration_id"),
)


def joined(values: dict[str, Any], prefix: str, primary_key: str) -> SimpleNamespace | None:
    """One outer-joined table's columns, named as in the table; None when it matched no row."""
    fields = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
    return None if fields[primary_key] is None else SimpleNamespace(**fields)


def find_messages(conn: Connection, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
    found: dict[str, StoredMessage] = {}
    for start in range(0, len(message_ids), 500):
        part = list(message_ids[start : start + 500])
        for row in conn.execute(FIND_MESSAGES, {"ids": part}):
            found[row.message_id] = StoredMessage(*row)
    return found


@functools.lru_cache(maxsize=64)
def combined(shape: tuple[tuple[str, tuple[str, ...], int], ...]) -> Prepared:
    """One statement for rows of this shape: each table's insert a CTE of the counter update.

    Built once per shape (tables, their columns, row counts) with named
    parameters ``<table>_<row>_<column>``, and compiled once (SQLAlchemy's
    own cache skips statements with DML CTEs).
    """
    ctes = []
    for table_name, columns, count in shape:
        table = tables.metadata.tables[table_name]
        rows = [
            {name: bindparam(f"{table_name}_{i}_{name}", type_=table.c[name].type)
             for name in columns}
            for i in range(count)
        ]  # fmt: skip
        ctes.append(insert(table).values(rows).cte(f"insert_{table_name}"))
    return Prepared(
        update(tables.audit_counter)
        .where(tables.audit_counter.c.id == 1)
        .values(next_index=bindparam("next_index"))
        .add_cte(*ctes)
    )


def copy_rows(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into ``table`` on the transaction's own psycopg connection.

    Values go as the columns' types store them: datetimes as naive UTC (what
    UTCDateTime binds), the rest as they are. A constraint violation is raised
    as SQLAlchemy's IntegrityError, as an INSERT's would be.
    """
    import psycopg

    quote = conn.dialect.identifier_preparer.quote
    columns = list(rows[0])
    utc = [isinstance(tables.metadata.tables[table].c[c].type, tables.UTCDateTime) for c in columns]
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


def party(row: Any) -> Party:
    return Party(
        oin=row.oin,
        role=row.role,
        name=row.name,
        municipality_code=row.municipality_code,
        cert_oin=row.cert_oin,
    )


def key(row: Any) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        oin=row.oin,
        jwk=json.loads(row.jwk),
        not_before=row.not_before,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
    )
