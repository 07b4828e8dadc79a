"""The console's own memory: a SQLite file on the municipality's machine.

It holds what the console pulled (deliveries, as the gateway signed them,
or rewritten without what a withdrawal took back), what its users sent
(each message with the gateway's receipt) and the newest signals and
progress read, with when (a read is an audited ``regie.read`` in the
newcomer's access report, so a dossier view reuses one that is recent; an
action of this console that changes it marks it wanted again). Nothing here
goes back to the gateway; the file is as sensitive as the case system, and
is created readable by its owner only.

A delivery is committed here before it is acknowledged (``keep`` returns
after the commit, with ``synchronous=FULL``), so a console stopped at any
point loses nothing the gateway counts as received. A consent given after a
message was delivered brings that message again, with a new delivery id and
``supersedes`` naming the earlier ones: the newer copy takes their place
(what a withdrawal took from them is remembered with it), the earlier ids
are remembered as superseded, so an earlier copy pulled again changes
nothing and a notice that names one reaches the copy that took its place.

A profile the inbox never brought here (another consumer acknowledged it) is
read from the gateway and kept as ``profile-read:<message_id>``
(``keep_profile``); a copy of the same message from the inbox takes its
place as a superseding one would. A withdrawal notice names inbox
deliveries only, so a notice is applied to every kept copy of the
newcomer's messages that still holds a category it names, too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.common.inbox import NOTICE
from connectors.common.sinks import without_withdrawn
from connectors.consoles.localdb import LocalDB

PROFILE_READ = "profile-read:"
"""The key of a profile read outside the inbox: this, then its message id"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    v_number TEXT NOT NULL,
    received_at TEXT NOT NULL,
    kept_at TEXT NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_subject ON deliveries (v_number, type, received_at);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    v_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    message TEXT NOT NULL,
    receipt TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_subject ON actions (v_number, kind);
CREATE TABLE IF NOT EXISTS reads (
    kind TEXT NOT NULL,
    v_number TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (kind, v_number)
);
CREATE TABLE IF NOT EXISTS superseded (
    delivery_id TEXT PRIMARY KEY,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wanted (
    kind TEXT NOT NULL,
    v_number TEXT NOT NULL,
    PRIMARY KEY (kind, v_number)
);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Kept:
    delivery_id: str
    type: str
    v_number: str
    received_at: str
    acknowledged: bool
    document: dict[str, Any]


def _same(kept: dict[str, Any], pulled: dict[str, Any]) -> bool:
    """The same content (a re-pull is signed anew: its token and the pull's trace id
    differ, its other members not)."""
    ignored = {"delivery_token", "delivery_token_sha256", "withdrawn", "profile_token", "trace_id"}
    return {k: v for k, v in kept.items() if k not in ignored} == {
        k: v for k, v in pulled.items() if k not in ignored
    }


def _current(db: sqlite3.Connection, delivery_id: str) -> str:
    """The delivery that now stands for ``delivery_id``: itself, or the copy that
    superseded it."""
    row = db.execute("SELECT by FROM superseded WHERE delivery_id = ?", (delivery_id,)).fetchone()
    return delivery_id if row is None else str(row[0])


def _supersede(db: sqlite3.Connection, delivery: dict[str, Any]) -> list[dict[str, Any]]:
    """The kept copies ``delivery`` supersedes taken out, remembered as superseded by it (and
    whatever they stood for, too); what withdrawals had taken from them, returned."""
    by = str(delivery["delivery_id"])
    earlier = [str(d) for d in delivery.get("supersedes") or [] if str(d) != by]
    read = f"{PROFILE_READ}{delivery.get('message_id')}"
    if (
        read != by
        and db.execute("SELECT 1 FROM deliveries WHERE delivery_id = ?", (read,)).fetchone()
    ):
        earlier.append(read)  # the same message read outside the inbox: this copy replaces it
    withdrawn: list[dict[str, Any]] = []
    for delivery_id in earlier:
        row = db.execute(
            "SELECT document FROM deliveries WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        if row is not None:
            withdrawn += json.loads(row[0]).get("withdrawn", [])
            db.execute("DELETE FROM deliveries WHERE delivery_id = ?", (delivery_id,))
        db.execute(
            "INSERT INTO superseded (delivery_id, by) VALUES (?, ?)"
            " ON CONFLICT (delivery_id) DO UPDATE SET by = excluded.by",
            (delivery_id, by),
        )
        db.execute("UPDATE superseded SET by = ? WHERE by = ?", (by, delivery_id))
    return withdrawn


def _upsert(db: sqlite3.Connection, delivery: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO deliveries (delivery_id, type, v_number, received_at, kept_at,"
        " document) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO UPDATE"
        " SET document = excluded.document, kept_at = excluded.kept_at",
        (
            str(delivery["delivery_id"]),
            str(delivery.get("type")),
            str(delivery.get("subject", {}).get("v_number", "")),
            str(delivery.get("received_at", "")),
            now(),
            json.dumps(delivery, ensure_ascii=False),
        ),
    )


def _act_on(db: sqlite3.Connection, notice: dict[str, Any]) -> None:
    """A withdrawal notice: each kept delivery it names (or the copy that took its place)
    rewritten without what was taken back; and every other kept copy of the newcomer's
    messages that still holds a category it names (a profile read has no delivery id for
    a notice to name)."""
    named = dict.fromkeys(_current(db, str(d)) for d in notice.get("affected_deliveries", []))
    by = str(notice["delivery_id"])
    v_number = str(notice.get("subject", {}).get("v_number", ""))
    rows = db.execute(
        "SELECT delivery_id, document FROM deliveries WHERE (v_number = ? AND type != ?)"
        " OR delivery_id IN (SELECT value FROM json_each(?))",
        (v_number, NOTICE, json.dumps(list(named))),
    ).fetchall()
    for delivery_id, document in rows:
        kept = json.loads(document)
        rewritten = _without(kept, notice, by)
        if delivery_id in named or rewritten["body"] != kept.get("body"):
            db.execute(
                "UPDATE deliveries SET document = ? WHERE delivery_id = ?",
                (json.dumps(rewritten, ensure_ascii=False), delivery_id),
            )


def _without(kept: dict[str, Any], notice: dict[str, Any], by: str) -> dict[str, Any]:
    """``without_withdrawn``, for a profile read too: its token goes, its SHA-256 stays."""
    token = kept.get("profile_token")
    if isinstance(token, str):
        kept = {k: v for k, v in kept.items() if k != "profile_token"}
        kept["profile_token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
    return without_withdrawn(kept, notice, by)


def _unique(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for record in records:
        if record not in found:
            found.append(record)
    return found


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store(LocalDB):
    """One SQLite file; safe to share between the puller thread and the web threads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, synchronous="FULL")

    # -- deliveries ------------------------------------------------------------

    def keep(self, delivery: dict[str, Any]) -> bool:
        """Keep a verified delivery (or its newer cut, pulled again, or the newer copy that
        supersedes earlier ones); act on a notice.

        True when something changed. A notice rewrites every kept delivery it names, and a
        newer copy replaces those it supersedes, in the same transaction, so a crash never
        leaves half of it.
        """
        delivery_id = str(delivery["delivery_id"])
        with self._tx() as db:
            if _current(db, delivery_id) != delivery_id:
                return False  # an earlier copy pulled again: a newer one took its place
            found = db.execute(
                "SELECT document FROM deliveries WHERE delivery_id = ?", (delivery_id,)
            ).fetchone()
            if found is not None and (
                _same(json.loads(found[0]), delivery) or delivery.get("type") == NOTICE
            ):
                return False
            withdrawn = [] if found is None else json.loads(found[0]).get("withdrawn", [])
            withdrawn += _supersede(db, delivery)
            if withdrawn:
                # rewritten after a withdrawal: a copy cut by the gateway later already lacks
                # those categories (or has them again on a newer consent); keep the record
                delivery = {**delivery, "withdrawn": _unique(withdrawn)}
            _upsert(db, delivery)
            if delivery.get("type") == NOTICE:
                _act_on(db, delivery)
            return True

    def keep_profile(self, profile: dict[str, Any]) -> bool:
        """Keep a verified profile read (``GET /v1/newcomers/{v}/profile``) as a delivery;
        True when it was not kept before.

        Not when a copy of the same message is kept already: from the inbox (which
        takes a read's place), or read before.
        """
        key = f"{PROFILE_READ}{profile['message_id']}"
        v_number = str(profile.get("subject", {}).get("v_number", ""))
        with self._tx() as db:
            if _current(db, key) != key:
                return False  # a copy from the inbox took its place
            for (document,) in db.execute(
                "SELECT document FROM deliveries WHERE v_number = ? AND type = ?",
                (v_number, str(profile.get("type"))),
            ).fetchall():
                if json.loads(document).get("message_id") == profile["message_id"]:
                    return False
            _upsert(db, {**profile, "delivery_id": key})
            return True

    def acknowledged(self, delivery_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET acknowledged = 1 WHERE delivery_id = ?", (delivery_id,)
            )

    def deliveries(self, v_number: str | None = None, type_: str | None = None) -> list[Kept]:
        """Kept deliveries, oldest first (by the gateway's ``received_at``)."""
        sql = (
            "SELECT delivery_id, type, v_number, received_at, acknowledged, document"
            " FROM deliveries WHERE 1 = 1"
        )
        args: list[Any] = []
        if v_number is not None:
            sql += " AND v_number = ?"
            args.append(v_number)
        if type_ is not None:
            sql += " AND type = ?"
            args.append(type_)
        rows = self.rows(sql + " ORDER BY received_at, delivery_id", *args)
        return [Kept(r[0], r[1], r[2], r[3], bool(r[4]), json.loads(r[5])) for r in rows]

    # -- what the console sent -------------------------------------------------

    def record_action(
        self, v_number: str, kind: str, message: dict[str, Any], receipt: dict[str, Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO actions (v_number, kind, at, message, receipt) VALUES (?, ?, ?, ?, ?)",
                (
                    v_number,
                    kind,
                    now(),
                    json.dumps(message, ensure_ascii=False),
                    json.dumps(receipt),
                ),
            )

    def actions(self, v_number: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """What this console sent, oldest first: ``{kind, at, message, receipt}``."""
        sql, args = "SELECT kind, at, message, receipt FROM actions WHERE 1 = 1", []
        if v_number is not None:
            sql += " AND v_number = ?"
            args.append(v_number)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        return [
            {"kind": k, "at": at, "message": json.loads(m), "receipt": json.loads(r)}
            for k, at, m, r in self.rows(sql + " ORDER BY id", *args)
        ]

    # -- reads kept (signals, progress) ------------------------------------------

    def keep_read(self, kind: str, v_number: str, document: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO reads (kind, v_number, fetched_at, document) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, v_number) DO UPDATE SET fetched_at = excluded.fetched_at,"
                " document = excluded.document",
                (kind, v_number, now(), json.dumps(document, ensure_ascii=False)),
            )
            db.execute("DELETE FROM wanted WHERE kind = ? AND v_number = ?", (kind, v_number))

    def want_read(self, kind: str, v_number: str) -> None:
        """The kept read is out of date whatever its age (this console just changed what it
        shows: a plan, an assignment, a consent); the next look reads it anew."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO wanted (kind, v_number) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (kind, v_number),
            )

    def read_due(self, kind: str, v_number: str, max_age: timedelta) -> bool:
        """Whether to read anew: never read, wanted, or read longer than ``max_age`` ago."""
        if self.rows("SELECT 1 FROM wanted WHERE kind = ? AND v_number = ?", kind, v_number):
            return True
        kept = self.reads_of(kind, v_number)
        return kept is None or datetime.fromisoformat(kept[0]) <= datetime.now(UTC) - max_age

    def replace_reads(self, kind: str, documents: dict[str, dict[str, Any]]) -> None:
        """All reads of one kind at once (a whole signals walk): who is gone, goes."""
        at = now()
        with self._tx() as db:
            db.execute("DELETE FROM reads WHERE kind = ?", (kind,))
            db.executemany(
                "INSERT INTO reads (kind, v_number, fetched_at, document) VALUES (?, ?, ?, ?)",
                [(kind, v, at, json.dumps(d, ensure_ascii=False)) for v, d in documents.items()],
            )

    def reads(self, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """v_number → (fetched_at, document)."""
        rows = self.rows("SELECT v_number, fetched_at, document FROM reads WHERE kind = ?", kind)
        return {v: (at, json.loads(d)) for v, at, d in rows}

    def reads_of(self, kind: str, v_number: str) -> tuple[str, dict[str, Any]] | None:
        rows = self.rows(
            "SELECT fetched_at, document FROM reads WHERE kind = ? AND v_number = ?",
            kind,
            v_number,
        )
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    # -- the puller's own state ----------------------------------------------------

    def state(self, name: str, default: str = "") -> str:
        rows = self.rows("SELECT value FROM state WHERE name = ?", name)
        return str(rows[0][0]) if rows else default

    def set_state(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO state (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # -- pull rounds -------------------------------------------------------------

    def round_done(self, outcome: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO rounds (at, outcome) VALUES (?, ?)", (now(), outcome))
            db.execute("DELETE FROM rounds WHERE id < (SELECT MAX(id) - 100 FROM rounds)")

    def last_round(self) -> tuple[str, str] | None:
        rows = self.rows("SELECT at, outcome FROM rounds ORDER BY id DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else None
