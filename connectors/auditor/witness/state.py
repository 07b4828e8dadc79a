"""The witness's own state: the logs it trusts, the newest checkpoint it cosigned per log,
and the refused checkpoints that may prove a log misbehaved. One SQLite file.

A witness is worth only as much as its memory: a witness that forgets the
size it cosigned (or lets two requests race it backwards) can be made to
cosign a fork. So the check of the old size, the judgement, the cosignature
and the write of the new size happen in one ``BEGIN IMMEDIATE`` transaction,
holding SQLite's write lock (C2SP tlog-witness: "checking the old size ...
and persisting the new checkpoint must be performed atomically"), and the
cosignature leaves only after the commit. A trigger refuses, below all of
that, any write that would lower a log's size or change the root at the
same size. WAL with ``synchronous=FULL``: a commit survives a power cut.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.client.witness import (
    NOTE,
    CosigningKey,
    Latest,
    Note,
    Refused,
    Request,
    Verifier,
    format_note,
    judge,
    parse_body,
    parse_note,
    parse_vkey,
)
from gateway.errors import CheckpointError

STATE_FILE = "witness.sqlite3"
BUSY_SECONDS = 30.0
"""how long a request waits for another's write lock before failing"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT NOT NULL,
    vkey TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (origin, vkey)
);
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at TEXT NOT NULL,
    stamp INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS latest_never_shrinks BEFORE UPDATE ON latest
WHEN NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root != OLD.root)
BEGIN SELECT RAISE(ABORT, 'a witness never lowers a size nor changes a root'); END;
CREATE TABLE IF NOT EXISTS refusals (
    at TEXT NOT NULL,
    origin TEXT NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT NOT NULL,
    old INTEGER NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS refusals_no_update BEFORE UPDATE ON refusals
BEGIN SELECT RAISE(ABORT, 'refusals are evidence: append only'); END;
CREATE TRIGGER IF NOT EXISTS refusals_no_delete BEFORE DELETE ON refusals
BEGIN SELECT RAISE(ABORT, 'refusals are evidence: append only'); END;
"""


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint the witness cosigned and stored: the 200 answer's body is ``lines``."""

    origin: str
    size: int
    lines: str
    """the witness's cosignature line(s), each ending in a newline"""


@dataclass(frozen=True)
class TrustedLog:
    """One origin the witness cosigns for: its keys and what it cosigned last."""

    origin: str
    key_ids: tuple[str, ...]
    size: int | None
    cosigned_at: str | None


@dataclass(frozen=True)
class Refusal:
    """A validly signed checkpoint the witness refused: possible proof of a misbehaving log."""

    at: str
    origin: str
    status: int
    detail: str
    old: int
    size: int
    root: bytes
    note: str


class WitnessState:
    """The state file, shared by the server's threads (a small pool of connections).

    ``clock`` gives POSIX seconds (tests step it back); ``stall``, for tests only, is
    called holding the write lock between the judgement and the write, to widen the
    window of the race the spec describes.
    """

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        stall: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._stall = stall
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """An idle connection, or a new one; autocommit, so each transaction is explicit."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None,
                                 check_same_thread=False)  # fmt: skip
            db.execute("PRAGMA synchronous=FULL")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.close()  # rolls back; a connection in an unknown state is not reused
                raise
            self._give_back(db)
            raise
        self._give_back(db)

    def _give_back(self, db: sqlite3.Connection) -> None:
        with self._lock:
            self._idle.append(db)

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")

    def add_log(self, verifier: Verifier) -> bool:
        """Trust ``verifier`` (a log's note key, type 0x01) for its origin. False when it was
        trusted already. A log may have several keys (a rotation)."""
        if verifier.kind != NOTE:
            raise CheckpointError("a log's key is a note verifier key (type 0x01)")
        with self._connection() as db:
            done = db.execute(
                "INSERT OR IGNORE INTO logs (origin, vkey, added_at) VALUES (?, ?, ?)",
                (verifier.name, verifier.vkey, self._now()),
            )
            return done.rowcount == 1

    def logs(self) -> list[TrustedLog]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT logs.origin, group_concat(logs.vkey, ' '), latest.size, "
                "latest.cosigned_at FROM logs LEFT JOIN latest USING (origin) "
                "GROUP BY logs.origin ORDER BY logs.origin"
            ).fetchall()
        found = []
        for origin, vkeys, size, at in rows:
            ids = tuple(sorted(vkey.split("+")[1] for vkey in vkeys.split(" ")))
            found.append(TrustedLog(origin, ids, size, at))
        return found

    def checkpoint(self, origin_hash: str) -> str | None:
        """The newest cosigned note of the log whose origin hashes (SHA-256, lowercase hex)
        to ``origin_hash``, as the monitoring endpoint serves it; None if never cosigned."""
        with self._connection() as db:
            rows = db.execute("SELECT origin, note FROM latest").fetchall()
        for origin, note in rows:
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                return str(note)
        return None

    def refusals(self) -> list[Refusal]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT at, origin, status, detail, old, size, root, note FROM refusals "
                "ORDER BY rowid"
            ).fetchall()
        return [Refusal(*row) for row in rows]

    def add_checkpoint(self, request: Request, key: CosigningKey) -> Cosigned:
        """Judge ``request`` against what this witness cosigned last, and cosign and store
        it: one atomic step. Raises Refused (C2SP's status, the size on a 409)."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            origin = request.checkpoint.partition("\n")[0]
            logs = self._keys(db, origin)
            held = db.execute("SELECT size, root, stamp FROM latest WHERE origin = ?",
                              (origin,)).fetchone()  # fmt: skip
            latest = Latest(held[0], held[1]) if held else None
            try:
                body = judge(request, logs, latest)
            except Refused as refused:
                self._keep_refusal(db, request, refused, latest)
                db.execute("COMMIT")
                raise
            note = parse_note(request.checkpoint)
            stamp = max(int(self._clock()), held[2] if held else 1, 1)
            lines = key.cosign(note.text, stamp)
            if self._stall is not None:
                self._stall()
            db.execute(
                "INSERT INTO latest (origin, size, root, note, cosigned_at, stamp) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                "size = excluded.size, root = excluded.root, note = excluded.note, "
                "cosigned_at = excluded.cosigned_at, stamp = excluded.stamp",
                (body.origin, body.size, body.root, _served(note, logs[body.origin], lines),
                 datetime.fromtimestamp(stamp, UTC).isoformat(), stamp),
            )  # fmt: skip
            db.execute("COMMIT")
        return Cosigned(body.origin, body.size, lines)

    @staticmethod
    def _keys(db: sqlite3.Connection, origin: str) -> dict[str, list[Verifier]]:
        """The trusted keys of ``origin`` (the checkpoint's first line), as ``judge`` takes
        them: read in the request's transaction, so a key added while serving counts."""
        vkeys = [row[0] for row in db.execute("SELECT vkey FROM logs WHERE origin = ?",
                                              (origin,))]  # fmt: skip
        return {origin: [parse_vkey(vkey, (NOTE,)) for vkey in vkeys]} if vkeys else {}

    def _keep_refusal(
        self, db: sqlite3.Connection, request: Request, refused: Refused, latest: Latest | None
    ) -> None:
        """Keep a refusal that may prove misbehaviour: a 422 (a fork, a proof that fails),
        or a 409 for a checkpoint smaller than the one cosigned. ``judge`` answers these
        only after the log's signature verified. The same checkpoint is kept once, so
        replaying an old checkpoint cannot fill the disk."""
        if refused.answer not in (409, 422):
            return
        note = parse_note(request.checkpoint)
        body = parse_body(note.text)
        if refused.answer == 409 and body.size >= (latest.size if latest else 0):
            return  # a log that lost track of the witness: normal, and it will retry
        db.execute(
            "INSERT INTO refusals (at, origin, status, detail, old, size, root, note) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM refusals "
            "WHERE origin = ? AND status = ? AND size = ? AND root = ?)",
            (self._now(), body.origin, refused.answer, str(refused), request.old, body.size,
             body.root, request.checkpoint, body.origin, refused.answer, body.size,
             body.root),
        )  # fmt: skip


def _served(note: Note, keys: list[Verifier], lines: str) -> str:
    """What the monitoring endpoint serves: the checkpoint with the log's signatures this
    witness verified (others' dropped) and the witness's own cosignature(s)."""
    known = {(key.name, key.key_id) for key in keys}
    kept = tuple((name, blob) for name, blob in note.signatures if (name, blob[:4]) in known)
    return format_note(Note(note.text, kept)) + lines
