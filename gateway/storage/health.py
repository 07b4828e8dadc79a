"""Health's view of the database: whether writes fail now, and a probe that tells the truth.

A failure episode (``engine.episodes``) is opened by a failed write and
ended by a request's write that succeeds; a background job's success never
ends one. An idle gateway (which a balancer took out for its 503) would
never see such a write, so health probes: it writes as a request would,
claiming a request's worth of fresh space, because on a full disk in WAL
mode a no-op update succeeds while intake fails.
"""

from __future__ import annotations

import errno
import os
import threading
import time

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import DBAPIError

from gateway.errors import ServiceUnavailable
from gateway.storage import engine as engines
from gateway.storage.tables import audit_tree

_PROBE = update(audit_tree).where(audit_tree.c.id == 1).values(size=audit_tree.c.size)
PROBE_BYTES = 1 << 20
"""Fresh space health's probe claims: a request's worth (a large batch's body)"""
_RANDOM = {"b": os.urandom(PROBE_BYTES)}  # incompressible, so stored at its size


def check_writable(engine: Engine) -> None:
    """While writes are failing, say so: for health, which a balancer asks. Writes failed
    lately and no request's write succeeded since: 503. Otherwise ``_probe`` decides, and its
    success ends the episode: an idle gateway (which a balancer took out) says 200 again
    without a restart. (A no-op update is no probe: on a full disk in WAL mode it succeeds.)
    Raises ServiceUnavailable naming the cause."""
    if (episode := engines.episodes.current(engine)) is None:
        return
    quiet = episode.succeeded_at is not None and episode.succeeded_at > episode.failed_at
    recent = time.monotonic() - episode.failed_at < engines.RECENT_FAILURE_SECONDS
    cause = episode.cause if recent and not quiet else _probe(engine)
    if cause is None:
        engines.episodes.ended(engine)
        return
    raise ServiceUnavailable(f"database {cause}: writes are failing", retry_after=5)


def _probe(engine: Engine) -> str | None:
    """Write as a request would, claiming PROBE_BYTES of fresh space; the cause if refused.

    A no-op update under the write lock (read-only, locked); then on PostgreSQL random
    bytes into a temporary table (it extends a file on the database's disk; dropped at
    commit), on SQLite the page cap's headroom and an allocation beside the file.
    Its refusals are not the episode's failures (they would hold health at 503)."""
    try:
        with engines.writer_queue(engine), engine.connect() as conn:
            engines.renew_if_read_only(conn)
            conn.execution_options(gateway_write=True)
            with conn.begin():
                conn.execute(_PROBE)
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("CREATE TEMP TABLE probe (b bytea) ON COMMIT DROP")
                    conn.exec_driver_sql("INSERT INTO probe VALUES (%(b)s)", _RANDOM)
                elif _page_headroom(conn) < PROBE_BYTES:
                    return "disk full"
    except DBAPIError as exc:
        return engines.cause_of(exc) or "error"
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return _file_probe(database) if database and database != ":memory:" else None


def _page_headroom(conn: Connection) -> int:
    """Bytes SQLite may still add to the database under its page cap (``max_page_count``)."""
    names = ("max_page_count", "page_count", "freelist_count", "page_size")
    most, used, free, size = (int(conn.exec_driver_sql(f"PRAGMA {n}").scalar_one()) for n in names)
    return (most - used + free) * size


def _file_probe(database: str) -> str | None:
    """Allocate PROBE_BYTES beside the database file and free them: the cause if it fails."""
    path = f"{database}.probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, PROBE_BYTES)
        finally:
            os.close(fd)
            os.unlink(path)
    except OSError as error:  # glibc writes the bytes where a filesystem cannot allocate
        return "read-only" if error.errno in (errno.EROFS, errno.EACCES) else "disk full"
    return None
