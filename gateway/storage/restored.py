"""What checking a restored database reads of it, and the one thing a restore resets.

The restore (``gateway.continuity``) verifies a database before anything serves it: every
entry against its leaf hash, the stored tree against the leaves, the signed checkpoints
against the roots. It reads here, in chunks and by primary key, so a log of millions of
entries is checked in bounded memory; the Merkle arithmetic is the domain's. Nothing here
writes to the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, and_, delete, func, make_url, or_, select, text
from sqlalchemy.exc import DBAPIError

from gateway.domain.audit.witnessed import View
from gateway.errors import GatewayError
from gateway.storage import audittree, engine, tables

_E, _N, _W = tables.audit_entries, tables.audit_nodes, tables.witness_views


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, or one in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def described(url: str) -> str:
    """The database, for a report: a SQLite file's URL, a server's without its password."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class Tip:
    """How far a database's log reached: to tell whether a restore would replace a newer one."""

    size: int
    newest: datetime | None
    """when its newest checkpoint was signed"""


def tip(db: Engine) -> Tip | None:
    """The log's size and newest checkpoint time; None where the database holds no gateway
    tables (a new instance's empty file) or cannot be read at all (the damaged one)."""
    try:
        with engine.read(db) as conn:
            size = audittree.log_size(conn)
            newest = conn.execute(select(func.max(tables.checkpoints.c.created_at))).scalar()
    except (DBAPIError, GatewayError):
        return None
    return Tip(size, newest)


def other_sessions(db: Engine) -> int:
    """Sessions of other processes on this PostgreSQL database (0 on SQLite, which
    ``gateway.continuity.backups.held_open`` asks instead): instances still serving it."""
    if db.dialect.name != "postgresql":
        return 0
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")  # fmt: skip
    with engine.read(db) as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class Shape:
    """The log's extent as its rows state it: what the checks hold the rows to."""

    size: int
    """the counter: the next index to hand out"""
    built: int
    """leaves folded into ``audit_nodes``"""
    nodes: int
    """rows in ``audit_nodes``"""
    beyond: int
    """entries at or past ``size`` (none in a whole log)"""


class LogRows:
    """Reads of one database's log for its check, on that database's engine."""

    def __init__(self, db: Engine) -> None:
        self.engine = db

    def shape(self) -> Shape:
        with engine.read(self.engine) as conn:
            size = audittree.log_size(conn)
            built = audittree.built_size(conn)
            nodes = conn.execute(select(func.count()).select_from(_N)).scalar_one()
            beyond = conn.execute(
                select(func.count()).select_from(_E).where(_E.c.idx >= size)
            ).scalar_one()
        return Shape(size, built, int(nodes), int(beyond))

    def nodes(self, ranges: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int], bytes]:
        """Stored subtree hashes by (level, index), for (level, first, last) index ranges."""
        if not ranges:
            return {}
        terms = [and_(_N.c.level == lvl, _N.c.idx >= lo, _N.c.idx <= hi) for lvl, lo, hi in ranges]
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(_N.c.level, _N.c.idx, _N.c.hash).where(or_(*terms)))
            return {(int(level), int(idx)): bytes(h) for level, idx, h in rows}

    def leaf_hashes(self, indices: Iterable[int]) -> dict[int, str]:
        """The stored leaf hash (hex) at each index the log holds."""
        wanted = sorted(set(indices))
        found: dict[int, str] = {}
        with engine.read(self.engine) as conn:
            for at in range(0, len(wanted), 500):
                chunk = wanted[at : at + 500]
                rows = conn.execute(select(_E.c.idx, _E.c.leaf_hash).where(_E.c.idx.in_(chunk)))
                found.update({int(i): str(h) for i, h in rows})
        return found

    def views(self) -> list[View]:
        """What every witness last said, of every origin this database's log had."""
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(_W).order_by(_W.c.origin, _W.c.witness)).all()
        return [View(r.witness, r.origin, r.size, r.verdict, r.detail, r.checked_at) for r in rows]

    def wrapped_keys(self, limit: int) -> list[tuple[str, bytes]]:
        """Some newcomers' wrapped data keys (the oldest and the newest), to try the master key
        on: a database restored without the master key it was written under is unreadable."""
        key = tables.subject_keys
        live = select(key.c.subject, key.c.wrapped_key).where(key.c.wrapped_key.is_not(None))
        with engine.read(self.engine) as conn:
            oldest = conn.execute(live.order_by(key.c.created_at).limit(limit)).all()
            newest = conn.execute(live.order_by(key.c.created_at.desc()).limit(limit)).all()
        return list(dict((str(s), bytes(w)) for s, w in [*oldest, *newest]).items())


def release_leases(db: Engine) -> None:
    """Forget who held the leases (the witnesses' round): in a restored database their
    holders are processes of the machine it was copied from, gone now."""
    with engine.write(db, lock=False, background=True) as conn:
        conn.execute(delete(tables.leases))
