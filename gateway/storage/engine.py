"""The engine and its transactions: the one way to read and the one way to write.

SQLite gets WAL, ``synchronous=FULL`` (a receipt means the commit reached the
disk) and ``BEGIN IMMEDIATE`` for writes, so two writers queue on the lock
instead of failing half-way; PostgreSQL gets a lock timeout. Every write
transaction of the gateway opens through ``write``, which takes the audit
counter row first wherever the log may grow, so appends are serialised
across processes and what a transaction checked still holds when it
commits. A database that stays busy becomes ``ServiceUnavailable`` (503 with
Retry-After), never a 500.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.errors import ServiceUnavailable
from gateway.storage.tables import audit_counter

SQLITE_BUSY_TIMEOUT_MS = 5000


def lock_audit_counter(conn: Connection) -> None:
    """Take the audit counter row lock that serialises every write of the log.

    On SQLite the transaction's BEGIN IMMEDIATE already holds the database lock.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(select(audit_counter.c.id).where(audit_counter.c.id == 1).with_for_update())


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    pool_size: int = 5,
    max_overflow: int = 5,
) -> Engine:
    """Create the engine, with SQLite's durability and locking settings.

    ``pool_size`` and ``max_overflow`` size a PostgreSQL engine's pool (per
    process: I instances of W workers open up to I x W x both).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    # PostgreSQL: a writer waits for the counter row at most the busy timeout
    # (then 503, as on SQLite), and no statement runs away with a connection.
    options = f"-c lock_timeout={int(busy_timeout_ms)} -c statement_timeout=60000"
    # No pre-ping: it costs a round trip per checkout. A connection that died
    # with a restarted server fails once, as a 503 the client retries, and
    # SQLAlchemy then replaces the whole pool.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"options": options, "connect_timeout": 10},
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writes take the write lock at BEGIN, so two writers queue on the busy
        # timeout instead of failing at their first write. Reads open no explicit
        # transaction: each SELECT is its own snapshot, at no BEGIN/COMMIT cost.
        if conn.get_execution_options().get("gateway_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write(source: Engine | Connection, *, lock: bool = True) -> Iterator[Connection]:
    """The one way to open a write transaction; it commits when the block ends.

    On an engine, on a connection of its own; on a connection (a request's
    session), on that one, ending its read snapshot first so the reads made
    before cost no second checkout. With ``lock`` the audit counter row is
    taken first: every transaction that may append to the log does so.
    Without it only writes that never touch the log (a jti, a lease), and
    intake, whose first statement reads the counter ``FOR UPDATE`` together
    with the data keys it needs, saving a round trip.
    Raises ServiceUnavailable when the database stays locked or unreachable.
    """
    if isinstance(source, Engine):
        with translate_busy(), source.connect() as conn, write(conn, lock=lock) as tx:
            yield tx
        return
    conn = source
    if conn.in_transaction():
        conn.commit()
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        conn.execution_options(isolation_level="READ COMMITTED")
    with _writer_queue(conn.engine), translate_busy():
        conn.execution_options(gateway_write=True)
        try:
            with conn.begin():
                if lock:
                    lock_audit_counter(conn)
                yield conn
        finally:
            conn.execution_options(gateway_write=False)


def autocommit_reads(conn: Connection) -> None:
    """Let ``conn``'s reads run outside a transaction on PostgreSQL, until write_on.

    SQLite's reads are outside one already (the driver's BEGIN is ours to send).
    """
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def _writer_queue(engine: Engine) -> Iterator[None]:
    """Queue SQLite writers of all our processes on a kernel file lock.

    SQLite's busy handler polls with growing sleeps while another process holds
    the write lock, which caps throughput at a few hundred commits a second;
    a waiter on ``flock`` is woken the moment the holder releases. Each
    transaction opens its own descriptor, so threads of one process queue too.
    Writers outside the gateway (a backup, the sqlite3 shell) do not take this
    lock; for them the busy timeout and its 503 still apply.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(database + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only connection (on SQLite each statement is its own snapshot).

    Raises ServiceUnavailable when the database is locked or unreachable.
    """
    with translate_busy(), engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def translate_busy() -> Iterator[None]:
    """A locked or unreachable database is a 503, not a crash."""
    try:
        yield
    except DBAPIError as exc:  # OperationalError (every SQLite lock) is one too
        if not isinstance(exc, OperationalError) and not _is_transient(exc):
            raise
        if _is_busy(exc):
            raise ServiceUnavailable("database busy, retry shortly", retry_after=1) from None
        raise ServiceUnavailable("database unavailable", retry_after=5) from None


# PostgreSQL SQLSTATEs of a database that is busy, not broken: lock_not_available,
# query_canceled (our lock or statement timeout), serialization_failure, deadlock.
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})
# ... and of one that is away: admin shutdown, crash shutdown, cannot connect now.
_AWAY_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _is_transient(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or _sqlstate(exc) in _BUSY_SQLSTATES | _AWAY_SQLSTATES


def _is_busy(exc: DBAPIError) -> bool:
    if _sqlstate(exc) in _BUSY_SQLSTATES:
        return True
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return "database is locked" in text or "busy" in text
