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
import functools
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, any_, bindparam, create_engine, event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway import logs
from gateway.errors import ServiceUnavailable
from gateway.storage.tables import audit_counter

log = logs.get("gateway.storage")

SQLITE_BUSY_TIMEOUT_MS = 5000


def lock_audit_counter(conn: Connection) -> None:
    """Take the audit counter row lock that serialises every write of the log.

    On SQLite the transaction's BEGIN IMMEDIATE already holds the database lock.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(select(audit_counter.c.id).where(audit_counter.c.id == 1).with_for_update())


def among(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter.

    A page of the signals list asks for a thousand newcomers in each of its
    statements; as an IN list each value is a placeholder to render and for
    the driver to parse (a fifth of the page's time on PostgreSQL).
    """
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


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
    else:
        # PostgreSQL: a writer waits for the counter row at most the busy timeout
        # (then 503, as on SQLite), and no statement runs away with a connection.
        options = f"-c lock_timeout={int(busy_timeout_ms)} -c statement_timeout=60000"
        # No pre-ping: it costs a round trip per checkout. A connection that died
        # with a restarted server fails once, as a 503 the client retries, and
        # SQLAlchemy then replaces the whole pool.
        connect_args = {"options": options, "connect_timeout": 10}
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, connect_args=connect_args
        )
    event.listen(engine, "connect", _note_opened)
    return engine


def _note_opened(dbapi_connection: Any, record: Any) -> None:
    record.info["opened"] = time.monotonic()  # for renew_if_read_only
    notices = getattr(dbapi_connection, "add_notice_handler", None)
    if notices is not None:  # psycopg: a commit that outran its standby says so only here
        notices(functools.partial(_on_notice, record.info))


UNREPLICATED = "canceling wait for synchronous replication"
"""PostgreSQL's warning when a commit's wait for its synchronous standby was cancelled (our
statement timeout): committed on the primary only, which a receipt must never promise"""


def _on_notice(info: dict[str, Any], diagnostic: Any) -> None:
    if str(diagnostic.message_primary or "").startswith(UNREPLICATED):
        info["unreplicated"] = True


def renew_if_read_only(conn: Connection) -> None:
    """Write on a new connection if this one was opened before a read-only episode ended:
    a connection keeps the mode it was opened in (SQLite's on a read-only file, PostgreSQL's
    ``default_transaction_read_only``), and kept, said 503 until a restart."""
    if conn.connection.info.get("opened", math.inf) <= episodes.read_only_until(conn.engine):
        conn.engine.dispose()  # a new pool: the next connection is opened now, not a kept one
        conn.invalidate()


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
def write(
    source: Engine | Connection, *, lock: bool = True, background: bool | None = None
) -> Iterator[Connection]:
    """The one way to open a write transaction; it commits when the block ends.

    On an engine, on a connection of its own; on a connection (a request's
    session), on that one, ending its read snapshot first so the reads made
    before cost no second checkout. With ``lock`` the audit counter row is
    taken first: every transaction that may append to the log does so.
    Without it only writes that never touch the log (a jti, a lease), and
    intake, whose first statement reads the counter ``FOR UPDATE`` together
    with the data keys it needs, saving a round trip. A ``background`` write (default:
    where the log context binds a ``job``, as the checkpointer does) ends no episode.
    Raises ServiceUnavailable when the database stays locked or unreachable.
    """
    if isinstance(source, Engine):
        with (
            translate_busy(),
            source.connect() as c,
            write(c, lock=lock, background=background) as tx,
        ):
            yield tx
        return
    conn = source
    if conn.in_transaction():
        conn.commit()
    renew_if_read_only(conn)
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        conn.execution_options(isolation_level="READ COMMITTED")
    job = "job" in structlog.contextvars.get_contextvars() if background is None else background
    with writer_queue(conn.engine), translate_busy(writing=True), _watched(conn.engine, job):
        conn.execution_options(gateway_write=True)
        try:
            with conn.begin():
                if lock:
                    lock_audit_counter(conn)
                yield conn
            if conn.connection.info.pop("unreplicated", False):
                raise ServiceUnavailable("the standby did not confirm the commit in time")
        finally:
            conn.execution_options(gateway_write=False)


def autocommit_reads(conn: Connection) -> None:
    """Let ``conn``'s reads run outside a transaction on PostgreSQL, until write_on.

    SQLite's reads are outside one already (the driver's BEGIN is ours to send).
    """
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def writer_queue(engine: Engine) -> Iterator[None]:
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
def translate_busy(*, writing: bool = False) -> Iterator[None]:
    """A locked, full, read-only or unreachable database is a 503, not a crash.

    For a write the sender cannot know whether it was kept (the database may
    have committed just before it went away): the problem says so, and that
    the same bytes sent again answer 200 with the receipt if it was.
    """
    try:
        yield
    except DBAPIError as exc:
        cause = cause_of(exc)
        from gateway import metrics  # here: prometheus-client reads its mode at import

        metrics.database_error(cause or "error")
        if cause is None:
            raise
        retry = 1 if cause == "locked" else 5
        if writing:
            detail = (
                f"database {cause}: the outcome is unknown; send the same bytes again, "
                "which answers 200 with the receipt if the message was stored"
            )
        else:
            detail = "database busy, retry shortly" if cause == "locked" else f"database {cause}"
        raise ServiceUnavailable(detail, retry_after=retry) from None


# PostgreSQL SQLSTATEs of a database that is busy, not broken: lock_not_available,
# query_canceled (our lock or statement timeout), serialization_failure, deadlock.
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})
# ... of one that is away: admin shutdown, crash shutdown, cannot connect now.
_AWAY_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
# ... and of one that cannot write: disk_full, read_only_sql_transaction.
_FULL_SQLSTATES, _READ_ONLY_SQLSTATES = frozenset({"53100"}), frozenset({"25006"})


def cause_of(exc: DBAPIError) -> str | None:
    """Why the database refused, in words for a log line and a problem: or None, a bug.

    ``locked``, ``disk full``, ``read-only`` or ``unreachable``.
    """
    state = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig).lower() if exc.orig is not None else ""
    if state in _FULL_SQLSTATES or "disk is full" in text or "no space left" in text:
        return "disk full"
    if state in _READ_ONLY_SQLSTATES or "readonly database" in text or "read-only" in text:
        return "read-only"
    if state in _BUSY_SQLSTATES or "database is locked" in text or "busy" in text:
        return "locked"
    if isinstance(exc, OperationalError) or exc.connection_invalidated or state in _AWAY_SQLSTATES:
        return "unreachable"
    return None


RECENT_FAILURE_SECONDS = 30.0
"""Health says 503 this long after a failed write, unless a request's write succeeded since"""


@dataclass
class _Episode:
    cause: str
    failed_at: float  # monotonic times of the last failed write,
    succeeded_at: float | None = None  # and of a request's write that succeeded


class _Episodes:
    """Per engine: why and how lately writes failed; said once, and in health. A request's
    write that succeeds ends an episode, but a full disk refuses only writes that need fresh
    space (a lease succeeds while intake fails): there health's probe, claiming a request's
    worth, ends it. A background job's success never ends one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Episode] = {}
        self._read_only: dict[int, float] = {}  # connections opened until then may be so

    def read_only_until(self, engine: Engine) -> float:  # inf while one lasts
        return self._read_only.get(id(engine), 0.0)

    def failed(self, engine: Engine, cause: str) -> None:
        with self._lock:
            episode = self._open.setdefault(id(engine), _Episode(cause, 0.0))
            first = episode.failed_at == 0
            episode.cause, episode.failed_at = cause, time.monotonic()
            if cause == "read-only":
                self._read_only[id(engine)] = math.inf
        if first:
            log.error("database_writes_failing", cause=cause)

    def succeeded(self, engine: Engine) -> None:
        with self._lock:
            episode = self._open.get(id(engine))
            if episode is not None and episode.cause == "disk full":
                episode.succeeded_at = time.monotonic()
                return
        self.ended(engine)

    def ended(self, engine: Engine) -> None:
        with self._lock:
            episode = self._open.pop(id(engine), None)
            if self._read_only.get(id(engine)) == math.inf:
                self._read_only[id(engine)] = time.monotonic()
        if episode is not None:
            log.warning("database_writes_recovered", cause=episode.cause)

    def current(self, engine: Engine) -> _Episode | None:
        return self._open.get(id(engine))


episodes = _Episodes()


@contextmanager
def _watched(engine: Engine, background: bool) -> Iterator[None]:
    """Note a write's failure (logged once per episode) or a request's write's success.

    A failure without a cause of the database's own (a constraint a message
    provoked: a bug, isolated to that message by the service) is no episode:
    the database is writable, and health must not say otherwise.
    """
    try:
        yield
    except DBAPIError as exc:
        if (cause := cause_of(exc)) is not None:
            episodes.failed(engine, cause)
        raise
    if not background:
        episodes.succeeded(engine)
