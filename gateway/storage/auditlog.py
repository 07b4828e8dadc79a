"""The audit log as a Merkle tree in SQL: nodes, roots, proofs, checkpoints.

Entries are appended by the store in the transaction of the change they
record (``store.append``). This module folds new leaves into complete,
aligned subtree hashes (``audit_nodes``), so that a root or a proof for any
size reads O(log n) stored hashes in one query, and signs checkpoints. The
folding runs when a checkpoint is made or a proof needs it, never on the
intake path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from gateway.domain.audit import checkpoints, merkle
from gateway.domain.wire import envelope
from gateway.errors import BadRequest, LogCorrupt
from gateway.storage import db

T = TypeVar("T")
FOLD_CHUNK = 50_000
PAGE = 1000


@dataclass(frozen=True)
class StoredCheckpoint:
    seq: int
    tree_size: int
    root_hash: str
    created_at: datetime
    jws: str
    note: str


def log_size(conn: Connection) -> int:
    return int(conn.execute(select(db.audit_counter.c.next_index)).scalar_one())


def _built(conn: Connection) -> int:
    return int(conn.execute(select(db.audit_tree.c.size)).scalar_one())


_LEAVES = select(db.audit_entries.c.idx, db.audit_entries.c.leaf_hash).where(
    db.audit_entries.c.idx.in_(bindparam("idxs", expanding=True))
)


def _fetch(conn: Connection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of aligned subtrees [start, end): leaves from the entries, the rest from nodes.

    Callers want O(log n) hashes (a proof, a root, the tree's right edge).
    The nodes come in one statement on the driver: building the expression
    in SQLAlchemy for each proof cost more than the query (a proof at a
    million entries: 3.7 ms that way, 1.4 ms this way).
    """
    leaves: list[int] = []
    by_level: dict[int, list[int]] = {}
    for start, end in wanted:
        size = end - start
        if size == 1:
            leaves.append(start)
        else:
            level = size.bit_length() - 1
            by_level.setdefault(level, []).append(start >> level)
    found: dict[tuple[int, int], bytes] = {}
    if leaves:
        rows = conn.execute(_LEAVES, {"idxs": leaves})
        found.update({(r.idx, r.idx + 1): bytes.fromhex(r.leaf_hash) for r in rows})
    if by_level:
        for level, idx, hashed in conn.exec_driver_sql(*_nodes_query(conn, by_level)):
            start = idx << level
            found[(start, start + (1 << level))] = bytes(hashed)
    return found


def _nodes_query(conn: Connection, by_level: dict[int, list[int]]) -> tuple[str, tuple[int, ...]]:
    """SQL and parameters for the nodes of several levels (one OR term per level).

    Only placeholders go into the text; the values are parameters. Each term
    is ``level = ? AND idx IN (…)``, which SQLite and PostgreSQL answer from
    the primary key.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    terms, params = [], []
    for level, idxs in by_level.items():
        terms.append(f"(level = {mark} AND idx IN ({', '.join([mark] * len(idxs))}))")
        params += [level, *idxs]
    sql = "SELECT level, idx, hash FROM audit_nodes WHERE " + " OR ".join(terms)  # noqa: S608
    return sql, tuple(params)


def _with_nodes(conn: Connection, build: Callable[[merkle.Node], T]) -> T:
    """Run a proof or root computation with every stored hash it needs fetched at once."""

    def over(aligned: merkle.Node) -> merkle.Node:
        return lambda start, end: merkle.subtree(start, end, aligned)

    wanted = merkle.needed_nodes(lambda aligned: build(over(aligned)))
    values = _fetch(conn, wanted)
    missing = wanted - set(values)
    if missing:
        raise LogCorrupt(f"audit tree incomplete: {len(missing)} stored hashes missing")
    return build(over(lambda start, end: values[(start, end)]))


def fold(conn: Connection, upto: int) -> None:
    """Fold leaves up to ``upto`` into aligned subtree hashes (inside a write transaction).

    Raises LogCorrupt when an entry is missing (a gap is corruption).
    """
    built = _built(conn)
    while built < upto:
        end = min(upto, built + FOLD_CHUNK)
        _fold_range(conn, built, end)
        built = end
    conn.execute(update(db.audit_tree).where(db.audit_tree.c.id == 1).values(size=built))


def _fold_range(conn: Connection, built: int, end: int) -> None:
    # The right edge of the tree of size `built`: its complete subtrees, largest first.
    frontier: list[tuple[int, bytes]] = []
    if built:
        edges, start = [], 0
        for level in reversed(range(built.bit_length())):
            if built >> level & 1:
                edges.append((start, start + (1 << level)))
                start += 1 << level
        values = _fetch(conn, edges)
        if len(values) != len(edges):
            raise LogCorrupt(f"audit log has lost entries below index {built}")
        frontier = [((e - s).bit_length() - 1, values[(s, e)]) for s, e in edges]
    rows = conn.execute(
        select(db.audit_entries.c.idx, db.audit_entries.c.leaf_hash)
        .where(db.audit_entries.c.idx >= built, db.audit_entries.c.idx < end)
        .order_by(db.audit_entries.c.idx)
    )
    nodes: list[dict[str, Any]] = []
    expected = built
    for row in rows:
        if row.idx != expected:
            raise LogCorrupt(f"audit log has a gap at index {expected}")
        frontier.append((0, bytes.fromhex(row.leaf_hash)))
        while len(frontier) > 1 and frontier[-1][0] == frontier[-2][0]:
            level, right = frontier.pop()
            _, left = frontier.pop()
            parent = merkle.node_hash(left, right)
            nodes.append({"level": level + 1, "idx": row.idx >> (level + 1), "hash": parent})
            frontier.append((level + 1, parent))
        expected += 1
    if expected != end:
        raise LogCorrupt(f"audit log has a gap at index {expected}")
    if nodes:
        conn.execute(insert(db.audit_nodes), nodes)


class AuditLog:
    """Reads and checkpoints of the log, on the gateway's engine."""

    def __init__(self, engine: Engine, signer: envelope.Signer, origin: str) -> None:
        self.engine = engine
        self.signer = signer
        self.origin = checkpoints.check_origin(origin)

    def _over_tree(self, size: int, build: Callable[[merkle.Node], T]) -> T:
        """Run ``build`` over the stored tree of ``size`` leaves, folding it first if needed.

        One read connection for the common case (size check, fold check, nodes).
        Raises BadRequest when ``size`` is not within 1..the log's size.
        """
        with db.read(self.engine) as conn:
            if not 0 < size <= log_size(conn):
                raise BadRequest("tree_size must be within 1..the log's size")
            if _built(conn) >= size:
                return _with_nodes(conn, build)
        with db.write(self.engine) as conn:
            db.lock_audit_counter(conn)
            fold(conn, max(size, _built(conn)))
            return _with_nodes(conn, build)

    def size(self) -> int:
        with db.read(self.engine) as conn:
            return log_size(conn)

    def root(self, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._over_tree(size, lambda node: node(0, size))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """Raises BadRequest for sizes beyond the log, ProofError for index ≥ size."""
        return self._over_tree(size, lambda node: merkle.inclusion_path(index, size, node))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """Raises BadRequest for sizes beyond the log, ProofError unless 0 < first ≤ second."""
        return self._over_tree(second, lambda node: merkle.consistency_path(first, second, node))

    # -- checkpoints -----------------------------------------------------------

    def checkpoint(
        self, now: datetime, *, min_age: timedelta | None = None
    ) -> StoredCheckpoint | None:
        """Sign a checkpoint of the whole log if it grew since the last one.

        With ``min_age``, only if the last one is at least that old (the
        periodic signer); without, whenever the log grew (on request). Runs
        under the audit counter lock, so two processes never sign one size twice.
        """
        with db.write(self.engine) as conn:
            db.lock_audit_counter(conn)
            size = log_size(conn)
            last = _latest(conn)
            if last is not None and (
                last.tree_size >= size or (min_age is not None and now - last.created_at < min_age)
            ):
                return None
            if last is None and size == 0:
                return None
            fold(conn, size)
            root = _with_nodes(conn, lambda node: node(0, size)) if size else merkle.EMPTY_ROOT
            point = checkpoints.new(size, root, now)
            jws = checkpoints.sign_jws(point, self.signer)
            note = checkpoints.sign_note(self.origin, point, self.signer.key)
            seq = conn.execute(
                insert(db.checkpoints)
                .values(
                    tree_size=size, root_hash=point.root_hash, created_at=now, jws=jws, note=note
                )
                .returning(db.checkpoints.c.seq)
            ).scalar_one()
            return StoredCheckpoint(seq, size, point.root_hash, now, jws, note)

    def latest(self) -> StoredCheckpoint | None:
        with db.read(self.engine) as conn:
            return _latest(conn)

    def checkpoints(self, after: int, limit: int = PAGE) -> list[StoredCheckpoint]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(db.checkpoints)
                .where(db.checkpoints.c.seq > after)
                .order_by(db.checkpoints.c.seq)
                .limit(limit)
            ).all()
        return [_checkpoint(r) for r in rows]

    def pending_since(self) -> datetime | None:
        """When the oldest entry not covered by any checkpoint was written."""
        with db.read(self.engine) as conn:
            last = _latest(conn)
            covered = last.tree_size if last else 0
            return conn.execute(
                select(db.audit_entries.c.created_at).where(db.audit_entries.c.idx == covered)
            ).scalar_one_or_none()

    def vkey(self) -> str:
        return checkpoints.vkey(self.origin, self.signer.key)


def _latest(conn: Connection) -> StoredCheckpoint | None:
    row = conn.execute(
        select(db.checkpoints).order_by(db.checkpoints.c.seq.desc()).limit(1)
    ).first()
    return _checkpoint(row) if row else None


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        row.seq, row.tree_size, row.root_hash, row.created_at, row.jws, row.note
    )
