"""The auditor console's own copy of the log, and its verification.

The console trusts nothing but the gateway's published key. A sync takes
the gateway's checkpoints (each signature checked), checks the newest
against the one verified before (a consistency proof: the log was only
appended to), fetches the entries it lacks, recomputes every leaf hash
from the entry itself, and recomputes the root of the newest checkpoint
from all the leaves it holds. Each entry the console shows is also proven
included on its own (an inclusion proof from the gateway, checked against
the verified checkpoint's root with the leaf hash computed here), so one
altered entry is named, not only "the log does not verify". What is not
proven is marked so.

The store holds entries as the gateway served them: pseudonyms, never a
V-number; a V-number typed into a filter is resolved through the
gateway's subject endpoint and kept nowhere.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.auditor import witnessed
from connectors.auditor.leaves import Frontier, LogMismatch, leaf_of
from connectors.auditor.verify import Mismatch, consistent, signed_checkpoints
from connectors.common.client import GatewayClient
from connectors.consoles.localdb import LocalDB
from gateway.client import witness
from gateway.client.log import Checkpoint, verify_inclusion
from gateway.errors import GatewayError

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    outcome TEXT,
    document TEXT NOT NULL,
    leaf TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_subject ON entries (subject, idx);
CREATE INDEX IF NOT EXISTS entries_actor ON entries (actor, idx);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    root_hash TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proofs (
    idx INTEGER NOT NULL,
    tree_size INTEGER NOT NULL,
    included INTEGER NOT NULL,
    PRIMARY KEY (idx, tree_size)
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

PAGE = 1000


@dataclass(frozen=True)
class Verification:
    """The console's own verdict on the log."""

    ok: bool
    seq: int | None
    tree_size: int
    root_hash: str
    timestamp: str
    problem: str = ""
    """what failed and where, in the verifier's (English) words"""
    kind: str = ""
    """what failed, as the verifier's kind of finding (``verify.FINDINGS``), or ``gateway``
    (the gateway could not be asked: ``values`` names its problem code); the page says it
    in the reader's language"""
    values: dict[str, str] = field(default_factory=dict)
    witnessed_size: int | None = None
    """the newest checkpoint the policy's quorum of witnesses cosigned (with ``--policy``)"""
    witnesses: list[str] = field(default_factory=list)
    """the policy's names of the witnesses that cosigned it"""


@dataclass(frozen=True)
class Entry:
    index: int
    entry: dict[str, Any]
    leaf: str
    included: bool | None
    """proven in the verified tree; False: the proof failed; None: not covered yet"""


class AuditStore(LocalDB):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def size(self) -> int:
        return int(self.rows("SELECT COUNT(*) FROM entries")[0][0])

    def add_entries(self, items: list[tuple[int, dict[str, Any], str]]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        i,
                        e["time"],
                        e["event"],
                        e.get("actor"),
                        e.get("subject"),
                        e.get("outcome"),
                        json.dumps(e, ensure_ascii=False),
                        leaf,
                    )
                    for i, e, leaf in items
                ],
            )

    def add_checkpoints(self, points: list[tuple[int, Any]]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?)",
                [(seq, p.tree_size, p.root_hash, p.timestamp) for seq, p in points],
            )

    def checkpoints(self) -> list[tuple[int, int, str, str]]:
        """(seq, tree_size, root_hash, timestamp), oldest first."""
        return [
            (int(a), int(b), str(c), str(d))
            for a, b, c, d in self.rows(
                "SELECT seq, tree_size, root_hash, timestamp FROM checkpoints ORDER BY seq"
            )
        ]

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes of entries [start, end) held here."""
        query = "SELECT leaf FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx"
        rows = self.rows(query, start, end)
        return [bytes.fromhex(r[0]) for r in rows]

    def frontier(self, verified: Verification | None) -> Frontier:
        """The kept frontier of the tree verified last, or an empty one to fold all leaves.

        Used only when it is of that tree's size and gives its root: anything
        else (a verdict not ok, a crash between saving the two) starts over.
        """
        text = self.state("frontier")
        if verified is None or not verified.ok or text is None:
            return Frontier()
        try:
            kept = Frontier.loads(text)
        except ValueError:
            return Frontier()
        if kept.size != verified.tree_size or kept.root().hex() != verified.root_hash:
            return Frontier()
        return kept

    def set_state(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO state VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
                " SET value = excluded.value",
                (name, value),
            )

    def state(self, name: str) -> str | None:
        found = self.rows("SELECT value FROM state WHERE name = ?", name)
        return str(found[0][0]) if found else None

    def verification(self) -> Verification | None:
        text = self.state("verification")
        return Verification(**json.loads(text)) if text else None

    def prove(self, index: int, tree_size: int, included: bool) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO proofs VALUES (?, ?, ?)", (index, tree_size, int(included))
            )

    def proven(self, indexes: list[int], tree_size: int) -> dict[int, bool]:
        if not indexes:
            return {}
        marks = ",".join("?" * len(indexes))
        sql = f"SELECT idx, included FROM proofs WHERE tree_size = ? AND idx IN ({marks})"  # noqa: S608 - placeholders only
        found = self.rows(sql, tree_size, *indexes)
        return {int(i): bool(ok) for i, ok in found}

    def entries(
        self,
        where: str = "",
        args: tuple[Any, ...] = (),
        *,
        before: int | None = None,
        limit: int = 50,
    ) -> list[tuple[int, dict[str, Any], str]]:
        """Newest first; ``where`` is a condition on the columns (its values in ``args``)."""
        clauses = [c for c in (where, "idx < ?" if before is not None else "") if c]
        sql = "SELECT idx, document, leaf FROM entries"
        sql += (" WHERE " + " AND ".join(clauses)) if clauses else ""
        values = (*args, *((before,) if before is not None else ()))
        return [
            (int(i), json.loads(d), str(leaf))
            for i, d, leaf in self.rows(sql + " ORDER BY idx DESC LIMIT ?", *values, limit)
        ]

    def all_entries(self) -> Iterator[dict[str, Any]]:
        for (document,) in self.rows("SELECT document FROM entries ORDER BY idx"):
            yield json.loads(document)


def sync(
    client: GatewayClient, store: AuditStore, policy: witness.Policy | None = None
) -> Verification:
    """Checkpoints and new entries in; the console's verdict kept and returned. With
    ``policy``, the witnesses it names must vouch for the log too (``witnessed``)."""
    try:
        verdict = _sync(client, store)
        if verdict.ok and policy is not None:
            newest = Checkpoint(verdict.tree_size, verdict.root_hash, verdict.timestamp)
            vouched = witnessed.check(client, policy, newest)
            verdict = dataclasses.replace(verdict, witnessed_size=vouched.tree_size,
                                          witnesses=list(vouched.cosigners))  # fmt: skip
    except (LogMismatch, GatewayError) as error:
        last = store.verification()
        verdict = Verification(
            False,
            last.seq if last else None,
            last.tree_size if last else 0,
            last.root_hash if last else "",
            last.timestamp if last else "",
            problem=error.detail,
            kind=error.kind if isinstance(error, Mismatch | witnessed.Mismatch) else "gateway",
            values=error.values if isinstance(error, Mismatch | witnessed.Mismatch)
            else {"code": error.code},
        )
    store.set_state("verification", json.dumps(verdict.__dict__))
    return verdict


def _sync(client: GatewayClient, store: AuditStore) -> Verification:
    points = signed_checkpoints(client)
    if not points:
        raise Mismatch("no-checkpoint")
    store.add_checkpoints(points)
    seq, newest = points[-1]
    before = store.verification()
    if before and before.ok and before.tree_size:
        if newest.tree_size < before.tree_size:
            raise Mismatch("truncated", seq=seq, size=newest.tree_size, verified=before.tree_size)
        verified = Checkpoint(before.tree_size, before.root_hash, before.timestamp)
        if newest.tree_size > before.tree_size and not consistent(client, verified, newest):
            raise Mismatch("rewritten", seq=seq, verified=before.tree_size)
    start = store.size()
    while start < newest.tree_size:
        end = min(newest.tree_size, start + PAGE)
        page = client.get_json("/v1/audit/entries", start=start, end=end)["entries"]
        if not page:
            raise Mismatch("entry-missing-covered", index=start, seq=seq, size=newest.tree_size)
        items = []
        for offset, item in enumerate(page):
            if item.get("index") != start + offset or item["entry"].get("index") != start + offset:
                raise Mismatch("entry-index", index=start + offset)
            items.append(
                (
                    start + offset,
                    item["entry"],
                    leaf_of(item["entry"], str(item.get("leaf_hash"))).hex(),
                )
            )
        store.add_entries(items)
        start += len(page)
    frontier = store.frontier(before)  # what was verified need not be folded again
    frontier.extend(store.leaves(frontier.size, newest.tree_size))
    if frontier.size != newest.tree_size:
        raise Mismatch("held-end", held=frontier.size, seq=seq, size=newest.tree_size)
    if frontier.root().hex() != newest.root_hash:
        altered = Mismatch("altered", seq=seq)
        return Verification(False, seq, newest.tree_size, newest.root_hash, newest.timestamp,
                            altered.detail, altered.kind, altered.values)  # fmt: skip
    store.set_state("frontier", frontier.dumps())
    return Verification(True, seq, newest.tree_size, newest.root_hash, newest.timestamp)


def prove_shown(
    client: GatewayClient, store: AuditStore, rows: list[tuple[int, dict[str, Any], str]]
) -> list[Entry]:
    """Each entry with its inclusion in the newest signed checkpoint proven (once)."""
    point = store.checkpoints()[-1] if store.checkpoints() else None
    if point is None:
        return [Entry(i, e, leaf, None) for i, e, leaf in rows]
    _, size, root, _ = point
    known = store.proven([i for i, _, _ in rows if i < size], size)
    found = []
    for index, entry, leaf in rows:
        if index >= size:
            found.append(Entry(index, entry, leaf, None))
            continue
        if index not in known:
            known[index] = _included(client, index, size, bytes.fromhex(leaf), bytes.fromhex(root))
            store.prove(index, size, known[index])
        found.append(Entry(index, entry, leaf, known[index]))
    return found


def _included(client: GatewayClient, index: int, size: int, leaf: bytes, root: bytes) -> bool:
    try:
        proof = client.get_json("/v1/audit/proofs/inclusion", index=index, tree_size=size)
        verify_inclusion(index, size, leaf, [bytes.fromhex(p) for p in proof["path"]], root)
    except (GatewayError, ValueError, KeyError, TypeError):
        return False
    return True
