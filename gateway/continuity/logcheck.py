"""Checking a database's audit log before it is served again: a backup just taken, one being
restored, or one the operator's own tool restored (PostgreSQL).

A restored log must be the log the gateway signed, or the receipts it gave name entries it no
longer holds. So every entry is read once, in index order and in chunks: its bytes must hash
to its stored leaf hash and name its own index; the leaves are folded into the tree again and
every subtree hash the database keeps (``audit_nodes``, what proofs are made of) must be the
one the leaves make; every checkpoint's root must be the root of the leaves at its size; and
the newest checkpoint, JWS and signed note, must verify with the instance's signing key. The
first thing wrong is named (an entry, a range of entries, a checkpoint) and nothing is served.

This needs no server and trusts nothing the database says about itself beyond its rows: the
same arithmetic as the auditor's verifier (``gateway.domain.audit.merkle``), over SQL instead
of HTTP, in memory bounded by a chunk.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.domain.audit import checkpoints, merkle
from gateway.domain.records import StoredCheckpoint
from gateway.domain.vault import Vault
from gateway.domain.wire import envelope, jwk
from gateway.errors import CheckpointError, ConfigurationError, GatewayError, LogCorrupt
from gateway.service.ports import AuditPort
from gateway.storage.restored import LogRows

CHUNK = 50_000
"""entries read (and subtree hashes compared) at a time"""
_PAGE = 1000
_INDEX = re.compile(rb'"index":(\d+)[,}]')


@dataclass(frozen=True)
class Checked:
    """A log that verified: how far, and the checkpoint it matches."""

    size: int
    newest: StoredCheckpoint | None
    """the newest checkpoint, its signature verified (None only for an empty log)"""
    signed_by: str | None
    """the key id that signed it"""
    checkpoints: int
    """checkpoints whose roots were matched against the leaves"""
    origins: tuple[str, ...]
    """the log origins its checkpoints' notes name, oldest first"""

    @property
    def covered(self) -> int:
        """Entries a signed checkpoint covers; those after it verify among themselves only."""
        return self.newest.tree_size if self.newest else 0

    @property
    def origin(self) -> str | None:
        return self.origins[-1] if self.origins else None


class _Edge:
    """The right edge of the tree over the leaves read so far: its complete subtrees, largest
    first, as the storage folds them (``audittree``), so each subtree hash the storage keeps is
    made here once, when its last leaf is read."""

    def __init__(self) -> None:
        self.frontier: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Take the next leaf; the subtrees it completes, as (level, index, hash)."""
        made = []
        self.frontier.append((0, leaf))
        while len(self.frontier) > 1 and self.frontier[-1][0] == self.frontier[-2][0]:
            level, right = self.frontier.pop()
            _, left = self.frontier.pop()
            parent = merkle.node_hash(left, right)
            made.append((level + 1, self.size >> (level + 1), parent))
            self.frontier.append((level + 1, parent))
        self.size += 1
        return made

    def root(self) -> bytes:
        """RFC 9162's root of the leaves so far: the subtrees folded from the right."""
        if not self.frontier:
            return merkle.EMPTY_ROOT
        root = self.frontier[-1][1]
        for _, left in reversed(self.frontier[:-1]):
            root = merkle.node_hash(left, root)
        return root


class _Points:
    """The checkpoints in the order they were signed, a page at a time, matched against the
    roots as the leaves reach each one's size."""

    def __init__(self, audit: AuditPort) -> None:
        self.audit = audit
        self.page: deque[StoredCheckpoint] = deque()
        self.after = 0
        self.newest: StoredCheckpoint | None = None
        self.matched = 0
        self.origins: list[str] = []
        self.wrong: LogCorrupt | None = None
        """the first checkpoint whose root the leaves do not make"""
        self._fill()

    def _fill(self) -> None:
        if not self.page:
            self.page.extend(self.audit.checkpoints(self.after, _PAGE))

    @property
    def next_size(self) -> int:
        """The size of the next checkpoint to match (-1: none left)."""
        return self.page[0].tree_size if self.page else -1

    def match(self, size: int, root: bytes) -> None:
        """Every checkpoint of ``size`` against ``root``. Raises LogCorrupt naming the first
        whose root differs, or one that shrinks the log."""
        while self.page and self.page[0].tree_size <= size:
            point = self.page.popleft()
            if point.tree_size < size:
                raise LogCorrupt(f"checkpoint {point.seq} (size {point.tree_size}) comes after "
                                 f"one of size {size}: it shrinks the log")  # fmt: skip
            if point.root_hash != root.hex() and self.wrong is None:
                self.wrong = LogCorrupt(
                    f"checkpoint {point.seq} (size {size}): the entries below {size} do not make "
                    "the root it signs: one of them was altered together with its leaf hash"
                )  # raised after the chunk's subtree hashes, which may name the entry closer
            origin = point.note.split("\n", 1)[0]
            if not self.origins or self.origins[-1] != origin:
                self.origins.append(origin)
            self.newest, self.after, self.matched = point, point.seq, self.matched + 1
            self._fill()

    def beyond(self, size: int) -> None:
        """Raises LogCorrupt when a checkpoint is left that covers more than the log holds."""
        if self.page:
            point = self.page[0]
            if point.tree_size <= size:
                raise LogCorrupt(f"checkpoint {point.seq} (size {point.tree_size}) comes after "
                                 "a larger one: it shrinks the log")  # fmt: skip
            gone = f"{size}..{point.tree_size - 1}"
            raise LogCorrupt(f"checkpoint {point.seq} covers {point.tree_size} entries; the "
                             f"log holds {size}: entries {gone} are gone")  # fmt: skip


def check_log(rows: LogRows, audit: AuditPort, keys: Mapping[str, jwk.Key]) -> Checked:
    """Verify the whole log of one database (see the module). ``keys``: the instance's signing
    keys by key id. Raises LogCorrupt or CheckpointError naming what is wrong."""
    shape = rows.shape()
    if shape.beyond:
        raise LogCorrupt(f"{shape.beyond} entries lie at or past the log's end ({shape.size}): "
                         "its counter was set back")  # fmt: skip
    if shape.built > shape.size:
        raise LogCorrupt(f"the audit tree folds {shape.built} entries; the log has {shape.size}")
    edge, points = _Edge(), _Points(audit)
    points.match(0, edge.root())
    for start in range(0, shape.size, CHUNK):
        end = min(shape.size, start + CHUNK)
        made = _read(rows, edge, points, start, end, shape.built)
        _compare_nodes(rows, made, start, min(end, shape.built))
        if points.wrong is not None:
            raise points.wrong
    if points.wrong is not None:
        raise points.wrong
    points.beyond(shape.size)
    expected = shape.built - shape.built.bit_count()
    if shape.nodes != expected:
        raise LogCorrupt(f"the audit tree holds {shape.nodes} subtree hashes; {shape.built} "
                         f"entries make {expected}")  # fmt: skip
    newest = points.newest
    if newest is None and shape.size:
        raise CheckpointError(f"the log holds {shape.size} entries and no signed checkpoint: "
                              "nothing signed to hold them to")  # fmt: skip
    signed_by = _verify_signed(newest, keys) if newest is not None else None
    return Checked(shape.size, newest, signed_by, points.matched, tuple(points.origins))


def _read(rows: LogRows, edge: _Edge, points: _Points, start: int, end: int,
          built: int) -> dict[tuple[int, int], bytes]:  # fmt: skip
    """Entries [start, end) checked and folded; the subtree hashes they complete (those the
    storage has folded, below ``built``)."""
    made: dict[tuple[int, int], bytes] = {}
    expected = start
    for index, data, leaf in points.audit.entries_raw(start, end):
        if index != expected:
            raise LogCorrupt(f"entry {expected} is missing")
        if merkle.leaf_hash(data).hex() != leaf:
            raise LogCorrupt(f"entry {index}: its bytes do not hash to its leaf hash: the entry "
                             "was altered")  # fmt: skip
        named = _INDEX.search(data)
        if named is None or int(named.group(1)) != index:
            raise LogCorrupt(f"entry {index} names another index: it was moved")
        for level, at, value in edge.add(bytes.fromhex(leaf)):
            if (at + 1) << level <= built:
                made[(level, at)] = value
        expected += 1
        if expected == points.next_size:
            points.match(expected, edge.root())
    if expected != end:
        raise LogCorrupt(f"entry {expected} is missing")
    return made


def _compare_nodes(rows: LogRows, made: dict[tuple[int, int], bytes], start: int,
                   stop: int) -> None:  # fmt: skip
    """The stored subtree hashes that end within (start, stop] against those the leaves made.
    Raises LogCorrupt naming the entries under the first that differs or is missing."""
    if stop <= start:
        return
    levels = range(1, stop.bit_length() + 1)
    ranges = [(lv, start >> lv, (stop >> lv) - 1) for lv in levels if stop >> lv > start >> lv]
    stored = rows.nodes(ranges)
    for (level, at), value in sorted(made.items()):
        first, last = at << level, ((at + 1) << level) - 1
        kept = stored.get((level, at))
        if kept is None:
            raise LogCorrupt(f"the audit tree lacks its hash over entries {first}..{last}")
        if kept != value:
            raise LogCorrupt(f"the audit tree's hash over entries {first}..{last} is not the one "
                             "they make: one of them was altered with its leaf hash, or the "
                             "hash itself")  # fmt: skip
    if len(stored) != len(made):
        raise LogCorrupt(f"the audit tree holds hashes over entries {start}..{stop - 1} that "
                         "the entries do not make")  # fmt: skip


def _verify_signed(point: StoredCheckpoint, keys: Mapping[str, jwk.Key]) -> str:
    """The newest checkpoint's JWS and signed note verify with one of ``keys`` and state the
    size and root the leaves make; its key id. Raises CheckpointError."""
    where = f"checkpoint {point.seq} (size {point.tree_size})"
    try:
        kid = envelope.parse(point.jws.encode("ascii"), typ=checkpoints.CHECKPOINT_TYP).header.kid
        signed = checkpoints.verify_jws(point.jws, dict(keys))
    except (GatewayError, UnicodeEncodeError) as error:
        detail = error.detail if isinstance(error, GatewayError) else "not ASCII"
        raise CheckpointError(f"{where}: {detail} (key id of this instance: "
                              f"{', '.join(keys)}; a backup of another instance, or restored "
                              "with other secrets?)") from None  # fmt: skip
    if (signed.tree_size, signed.root_hash) != (point.tree_size, point.root_hash):
        raise CheckpointError(f"{where}: its JWS signs another size or root than it is kept with")
    origin = point.note.split("\n", 1)[0]
    try:
        noted = checkpoints.verify_note(point.note, origin, keys[kid])
    except GatewayError as error:
        raise CheckpointError(f"{where}: its signed note: {error.detail}") from None
    if (noted.tree_size, noted.root_hash) != (point.tree_size, point.root_hash):
        raise CheckpointError(f"{where}: its signed note states another size or root")
    return kid


def check_master_key(rows: LogRows, vault: Vault, sample: int = 3) -> int:
    """The instance's master key opens this database's data keys (the oldest and the newest
    few); how many were tried. Raises ConfigurationError: a database restored without the
    master key it was written under is unreadable, and serving it would say so to every
    party that reads."""
    tried = rows.wrapped_keys(sample)
    for subject, wrapped in tried:
        try:
            vault.unwrap(wrapped, subject)
        except ConfigurationError as error:
            raise ConfigurationError(
                f"the instance's master keys do not open this database's data keys "
                f"({error.detail}): restore with the master key the database was written "
                "under (a backup from before a rotation of the master key needs the one "
                "before it, given beside the new one in GATEWAY_MASTER_KEY)"
            ) from None
    return len(tried)
