"""Tables and the engine: SQLAlchemy Core, the same for SQLite and PostgreSQL.

The schema here is what Alembic's migrations build (``gateway/migrations``);
a test compares the two. SQLite gets WAL, ``synchronous=FULL`` (a receipt
means the commit reached the disk) and ``BEGIN IMMEDIATE`` for writes, so two
writers queue on the lock instead of failing half-way. A database that stays
busy becomes ``ServiceUnavailable`` (503 with Retry-After), never a 500.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 5000


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()


def _surrogate_key() -> Column[int]:
    """An autoincrementing id: BIGINT, but INTEGER on SQLite, the only type it autoincrements."""
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def _consent_fact_columns() -> list[Column[Any]]:
    """Which declaration, recorded by which message and party, for whom, about whom."""
    return [
        Column("declaration_id", String(36), nullable=False),
        Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
        Column("recorded_by", String(20), nullable=False),
        Column("granted_to", String(20), nullable=False),
        Column("subject", String(64), nullable=False),
    ]


parties = Table(
    "parties",
    metadata,
    Column("oin", String(20), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("municipality_code", String(6), nullable=True, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

keys = Table(
    "keys",
    metadata,
    Column("kid", String(43), primary_key=True),
    Column("oin", String(20), ForeignKey("parties.oin"), nullable=False, index=True),
    Column("jwk", Text, nullable=False),
    Column("not_before", UTCDateTime(), nullable=False),
    Column("not_after", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

subject_keys = Table(
    "subject_keys",
    metadata,
    Column("subject", String(64), primary_key=True),  # pseudonym
    Column("wrapped_key", LargeBinary, nullable=True),  # NULL once crypto-shredded
    Column("created_at", UTCDateTime(), nullable=False),
    Column("erased_at", UTCDateTime(), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("type", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sender", String(20), ForeignKey("parties.oin"), nullable=False),
    Column("recipient", String(20), ForeignKey("parties.oin"), nullable=False),
    Column("subject", String(64), ForeignKey("subject_keys.subject"), nullable=False),
    Column("kid", String(43), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("audit_index", BigInteger, nullable=False, unique=True),
    Column("receipt", Text, nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # AES-GCM(raw JWS), data key per subject
    Index("ix_messages_recipient_subject", "recipient", "subject"),
)

assignments = Table(
    "assignments",
    metadata,
    _surrogate_key(),
    Column("assignment_id", String(36), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("route", String(20), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=True),
    Column("status", String(10), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_assignments_municipality_subject", "municipality", "subject"),
)

consent_declarations = Table(
    "consent_declarations",
    metadata,
    _surrogate_key(),
    *_consent_fact_columns(),
    Column("sources", Text, nullable=False),  # JSON array of OINs
    Column("categories", Text, nullable=False),  # JSON array
    Column("purposes", Text, nullable=False),  # JSON array
    Column("explicit_health_consent", Boolean, nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("granted_to", "declaration_id", name="uq_declaration_per_municipality"),
    Index("ix_consent_declarations_granted_to_subject", "granted_to", "subject"),
)

consent_withdrawals = Table(
    "consent_withdrawals",
    metadata,
    _surrogate_key(),
    *_consent_fact_columns(),
    Column("withdrawn_at", UTCDateTime(), nullable=False),
    Column(
        "by", String(20), nullable=False
    ),  # data-subject (withdrawn) | recording-party (revoked)
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("granted_to", "declaration_id", name="uq_withdrawal_per_declaration"),
    Index("ix_consent_withdrawals_granted_to_subject", "granted_to", "subject"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    # The audit index of the message's acceptance: assigned under the counter lock,
    # so cursors follow commit order and a pull never skips a late commit.
    Column("cursor", BigInteger, nullable=False, unique=True),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Handed to a puller that asked for a lease: no other pull gets it until then.
    Column("leased_until", UTCDateTime(), nullable=True),
    Index("ix_deliveries_recipient_cursor", "recipient", "cursor"),
)

audit_counter = Table(
    "audit_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("next_index", BigInteger, nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),  # RFC 8785 canonical JSON bytes
    Column("leaf_hash", String(64), nullable=False),
    Column("event", String(40), nullable=False),
    Column("subject", String(64), nullable=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


audit_nodes = Table(
    "audit_nodes",
    metadata,
    # Complete aligned subtrees above the leaves: level L, index i covers
    # leaves [i * 2^L, (i + 1) * 2^L). Level 0 is audit_entries.leaf_hash.
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

audit_tree = Table(
    "audit_tree",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),  # leaves folded into audit_nodes
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    Column("jws", Text, nullable=False),
    Column("note", Text, nullable=False),
)

assertion_jtis = Table(
    "assertion_jtis",
    metadata,
    Column("iss", String(20), primary_key=True),
    Column("jti", String(128), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)


def lock_audit_counter(conn: Connection) -> None:
    """Take the audit counter row lock that serialises every write of the log.

    On SQLite the transaction's BEGIN IMMEDIATE already holds the database lock.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(select(audit_counter.c.id).where(audit_counter.c.id == 1).with_for_update())


def sqlite_url(path: str) -> str:
    return f"sqlite+pysqlite:///{path}"


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
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction on a connection of its own; commit on success.

    Raises ServiceUnavailable when the database stays locked or unreachable.
    """
    with translate_busy(), engine.connect() as conn, write_on(conn):
        yield conn


@contextmanager
def write_on(conn: Connection) -> Iterator[Connection]:
    """A write transaction on ``conn`` (BEGIN IMMEDIATE on SQLite); commit on success.

    Ends the connection's read snapshot first, so reads made before on the
    same connection cost no second checkout.
    Raises ServiceUnavailable when the database stays locked or unreachable.
    """
    if conn.in_transaction():
        conn.commit()
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        conn.execution_options(isolation_level="READ COMMITTED")
    with _writer_queue(conn.engine), translate_busy():
        conn.execution_options(gateway_write=True)
        try:
            with conn.begin():
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
