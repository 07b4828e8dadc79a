"""Prepared statements store and read exactly what SQLAlchemy Core does, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from gateway.bootstrap import storage_of
from gateway.service.services import Services
from gateway.storage import engine as db
from gateway.storage import tables
from gateway.storage.prepared import Prepared

WHEN = datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC)
KEY_ROW = {
    "subject": "s" * 64,
    "wrapped_key": b"\x00\x01binary\xff",
    "created_at": WHEN,
    "erased_at": None,
}
_INSERT = Prepared(insert(tables.subject_keys))
_SELECT = Prepared(
    select(tables.subject_keys).where(tables.subject_keys.c.subject == bindparam("s"))
)


def test_a_row_written_by_prepared_reads_the_same_through_core(services: Services) -> None:
    with db.write(storage_of(services).engine, lock=False) as conn:
        _INSERT.run_many(conn, [KEY_ROW])
    with db.read(storage_of(services).engine) as conn:
        row = conn.execute(select(tables.subject_keys)).one()
    assert row._asdict() == KEY_ROW
    assert row.created_at.tzinfo is UTC


def test_a_row_written_by_core_reads_the_same_through_prepared(services: Services) -> None:
    later = WHEN + timedelta(days=1)
    with db.write(storage_of(services).engine, lock=False) as conn:
        conn.execute(insert(tables.subject_keys), [{**KEY_ROW, "erased_at": later}])
    with storage_of(services).engine.connect() as conn:
        row = _SELECT.first(conn, {"s": KEY_ROW["subject"]})
        missing = _SELECT.first(conn, {"s": "t" * 64})
    assert row is not None and row._asdict() == {**KEY_ROW, "erased_at": later}
    assert row.erased_at.tzinfo is UTC
    assert missing is None


def test_literals_in_the_statement_are_bound_and_parameters_are_required(
    services: Services,
) -> None:
    counter = Prepared(
        select(tables.audit_counter.c.next_index).where(tables.audit_counter.c.id == 1)
    )  # the literal 1 is a parameter that the caller does not give
    with storage_of(services).engine.connect() as conn:
        assert counter.first(conn) is not None
        with pytest.raises(KeyError, match="'s'"):
            _SELECT.first(conn, {})


def test_a_constraint_violation_is_cores_integrity_error_without_the_parameters(
    services: Services,
) -> None:
    """(PostgreSQL's own detail names the duplicate key: here a pseudonym, never content.)"""
    with db.write(storage_of(services).engine, lock=False) as conn:
        _INSERT.run_many(conn, [KEY_ROW])
    with (
        pytest.raises(IntegrityError) as raised,
        db.write(storage_of(services).engine, lock=False) as conn,
    ):
        _INSERT.run_many(conn, [KEY_ROW])
    assert "binary" not in str(raised.value)  # the wrapped key, a parameter
    with db.read(storage_of(services).engine) as conn:  # the pool's connection is still good
        assert len(conn.execute(select(tables.subject_keys)).all()) == 1


def test_expanding_parameters_are_refused(services: Services) -> None:
    statement = Prepared(
        select(tables.subject_keys).where(
            tables.subject_keys.c.subject.in_(bindparam("s", expanding=True))
        )
    )
    with storage_of(services).engine.connect() as conn, pytest.raises(TypeError, match="expanding"):
        statement.rows(conn, {"s": ["a"]})


def test_a_lost_connection_is_invalidated_and_the_pool_serves_again(services: Services) -> None:
    """A server that drops the connection: Core's error, marked invalidated; a new one works."""
    engine = storage_of(services).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("about a server connection; SQLite has none to lose")
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.commit()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
            other.commit()
        with pytest.raises(DBAPIError) as raised:
            _SELECT.first(conn, {"s": KEY_ROW["subject"]})
        assert raised.value.connection_invalidated
        assert conn.invalidated
    with db.translate_busy(), engine.connect() as conn:
        assert _SELECT.first(conn, {"s": KEY_ROW["subject"]}) is None
