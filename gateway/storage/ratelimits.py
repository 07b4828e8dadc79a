"""The token buckets in the database: one row per party, shared by every process.

A lease is one short write transaction (``FOR UPDATE`` on PostgreSQL, the
write lock on SQLite), outside the audit counter lock: rate limiting never
waits for the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.domain.ratelimit import Limit, lease, refilled
from gateway.storage import engine, tables

_BUCKETS = tables.rate_buckets


class RateStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def lease(self, oin: str, want: int, limit: Limit, now: datetime) -> tuple[int, float]:
        """(tokens granted, seconds to wait if none)."""
        with engine.write(self.engine, lock=False) as conn:
            _ensure_row(conn, oin, limit, now)
            row = conn.execute(
                select(_BUCKETS.c.tokens, _BUCKETS.c.updated_at)
                .where(_BUCKETS.c.oin == oin)
                .with_for_update()
            ).one()
            tokens = refilled(row.tokens, row.updated_at, now, limit)
            granted, left, wait = lease(tokens, want, limit.chunk(), limit)
            conn.execute(
                update(_BUCKETS)
                .where(_BUCKETS.c.oin == oin)
                # never back: another process's later clock already counted that time
                .values(tokens=left, updated_at=max(now, row.updated_at))
            )
        return granted, wait


def _ensure_row(conn: Connection, oin: str, limit: Limit, now: datetime) -> None:
    """A full bucket for a party seen the first time; two first requests make one row."""
    fresh = {"oin": oin, "tokens": limit.burst, "updated_at": now}
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(_BUCKETS).values(**fresh).on_conflict_do_nothing())
    else:
        conn.execute(sqlite_insert(_BUCKETS).values(**fresh).on_conflict_do_nothing())
