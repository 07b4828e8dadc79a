"""The Merkle tree in SQL: aligned subtree hashes, folded from the leaves.

New leaves are folded into complete, aligned subtrees (``audit_nodes``), so
that a root or a proof for any size reads O(log n) stored hashes in one
query. Folding runs when a checkpoint is made or a proof needs it, never on
the intake path. The tree math itself is ``gateway.domain.audit.merkle``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, select, update

from gateway.domain.audit import merkle
from gateway.errors import LogCorrupt
from gateway.storage import tables

T = TypeVar("T")
FOLD_CHUNK = 50_000


def log_size(conn: Connection) -> int:
    """The log's size: the next index to hand out."""
    return int(conn.execute(select(tables.audit_counter.c.next_index)).scalar_one())


def built_size(conn: Connection) -> int:
    """How many leaves are folded into the stored nodes."""
    return int(conn.execute(select(tables.audit_tree.c.size)).scalar_one())


_LEAVES = select(tables.audit_entries.c.idx, tables.audit_entries.c.leaf_hash).where(
    tables.audit_entries.c.idx.in_(bindparam("idxs", expanding=True))
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


def with_nodes(conn: Connection, build: Callable[[merkle.Node], T]) -> T:
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
    built = built_size(conn)
    while built < upto:
        end = min(upto, built + FOLD_CHUNK)
        _fold_range(conn, built, end)
        built = end
    conn.execute(update(tables.audit_tree).where(tables.audit_tree.c.id == 1).values(size=built))


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
        select(tables.audit_entries.c.idx, tables.audit_entries.c.leaf_hash)
        .where(tables.audit_entries.c.idx >= built, tables.audit_entries.c.idx < end)
        .order_by(tables.audit_entries.c.idx)
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
        conn.execute(insert(tables.audit_nodes), nodes)
