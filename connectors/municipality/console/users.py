"""The console's users, their caseloads and their staff pseudonyms, in the console's own file.

Each person signs in as themselves, so the console can say who did what
and show each client manager their own newcomers. Accounts are kept here,
on the municipality's machine, next to what the console pulled (the same
SQLite file, tables of their own): a name, a role, a password hashed with
Argon2id by argon2-cffi (a maintained implementation; never our own), and
whether the account is still in use (an account is disabled, never
deleted, so that what it did keeps a name).

While no account exists the console is one person's, as it always was
(``--staff-name``); the first account (an administrator, made on the
command line) turns sign-in on.

Failed sign-ins are counted per name: after ``MAX_FAILURES`` within
``FAILURE_WINDOW`` the name is refused, the right password included,
until the oldest failure ages out, so a password cannot be guessed at
speed.

A staff pseudonym (``staff-`` and 16 hex digits) names the person in what
the console sends: HMAC-SHA256 under a secret derived from the party's
private key (as ``ledger`` derives its own, keyed differently), over the
user's id. Only the municipality, which holds both the key and this file,
can say who it was; the mapping is kept here for that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connectors.consoles.localdb import LocalDB

CLIENT_MANAGER, POLICY_OFFICER, ADMINISTRATOR = "client-manager", "policy-officer", "administrator"
ROLES = (CLIENT_MANAGER, POLICY_OFFICER, ADMINISTRATOR)
CASEWORKERS = (CLIENT_MANAGER, ADMINISTRATOR)
"""the roles that see newcomers, act, and can hold a caseload"""
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 12
STAFF_KEY = b"inburgering-staff\0"
NO_PASSWORD = "!"  # noqa: S105 (no password: no Argon2 hash is "!")
"""an account of the municipality's provider: no password verifies against it"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    made_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signin_failures (
    name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signin_failures_name ON signin_failures (name, at);
CREATE TABLE IF NOT EXISTS caseload (
    v_number TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    given_by TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_subjects (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    PRIMARY KEY (issuer, subject)
);
CREATE TABLE IF NOT EXISTS staff_pseudonyms (
    pseudonym TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id)
);
"""


class Locked(Exception):
    """Too many failed sign-ins for this name just now."""


class NameTaken(Exception):
    """A provider's account whose name another account of the console already has."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    active: bool = True

    @property
    def acts(self) -> bool:
        """Sees dossiers and acts (a client manager, an administrator)."""
        return self.role in CASEWORKERS

    @property
    def administers(self) -> bool:
        return self.role == ADMINISTRATOR


def staff_secret(private_jwk: dict[str, Any]) -> bytes:
    """The secret of the party's staff pseudonyms, from its private key (as ``ledger``'s)."""
    canonical = json.dumps(private_jwk, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(STAFF_KEY + canonical).digest()


def pseudonym(secret: bytes, user_id: str) -> str:
    """``staff-`` and the first 16 hex digits of HMAC-SHA256 over the user's id."""
    return "staff-" + hmac.new(secret, user_id.encode(), hashlib.sha256).hexdigest()[:16]


def _now() -> datetime:
    return datetime.now(UTC)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Users(LocalDB):
    """The accounts, sign-in failures, caseloads and pseudonyms; shared by the web threads."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        super().__init__(path, SCHEMA, synchronous="FULL")
        self.hasher = hasher or PasswordHasher()

    # -- accounts ----------------------------------------------------------------

    def any(self) -> bool:
        """Whether sign-in is on: some account exists (disabled ones too)."""
        return bool(self.rows("SELECT 1 FROM users LIMIT 1"))

    def any_password(self) -> bool:
        """Whether some active account signs in with a password (not by the provider)."""
        return bool(self.rows("SELECT 1 FROM users WHERE active = 1 AND password != ? LIMIT 1",
                              NO_PASSWORD))  # fmt: skip

    def add(self, name: str, role: str, password: str) -> User:
        name = " ".join(name.split())
        if role not in ROLES:
            raise ValueError(f"role is one of {', '.join(ROLES)}")
        if not name:
            raise ValueError("a name is needed")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
        if self.rows("SELECT 1 FROM users WHERE name = ?", name):
            raise ValueError("a user of that name exists")
        user = User(uuid.uuid4().hex, name, role)
        with self._tx() as db:
            db.execute(
                "INSERT INTO users (id, name, role, password, made_at) VALUES (?, ?, ?, ?, ?)",
                (user.id, name, role, self.hasher.hash(password), _at(_now())),
            )
        return user

    def all(self) -> list[User]:
        rows = self.rows("SELECT id, name, role, active FROM users ORDER BY name")
        return [User(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def get(self, user_id: str) -> User | None:
        return next((u for u in self.all() if u.id == user_id), None)

    def disable(self, name: str) -> bool:
        """The account can no longer sign in; True when there was one to disable."""
        with self._tx() as db:
            done = db.execute("UPDATE users SET active = 0 WHERE name = ? AND active = 1", (name,))
            return done.rowcount > 0

    def from_provider(self, issuer: str, subject: str, name: str, role: str) -> User | None:
        """The account of the provider's ``subject``, made at its first sign-in, its name and
        role as the provider says them now; None when an administrator disabled it. Raises
        NameTaken when a local account has the name (never linked: a provider's name alone
        must not take over an account of the console's own)."""
        name = " ".join(name.split()) or subject
        with self._tx() as db:
            rows = db.execute(
                "SELECT u.id, u.active FROM provider_subjects p JOIN users u ON u.id = p.user_id"
                " WHERE p.issuer = ? AND p.subject = ?",
                (issuer, subject),
            ).fetchall()
            clash = db.execute(
                "SELECT 1 FROM users WHERE name = ? AND id != ?",
                (name, rows[0][0] if rows else ""),
            ).fetchall()
            if clash:
                raise NameTaken(name)
            if rows and not rows[0][1]:
                return None
            if rows:
                user = User(rows[0][0], name, role)
                db.execute("UPDATE users SET name = ?, role = ? WHERE id = ?",
                           (name, role, user.id))  # fmt: skip
                return user
            user = User(uuid.uuid4().hex, name, role)
            db.execute(
                "INSERT INTO users (id, name, role, password, made_at) VALUES (?, ?, ?, ?, ?)",
                (user.id, name, role, NO_PASSWORD, _at(_now())),
            )
            db.execute("INSERT INTO provider_subjects (issuer, subject, user_id) VALUES (?, ?, ?)",
                       (issuer, subject, user.id))  # fmt: skip
            return user

    # -- sign-in -----------------------------------------------------------------

    def failures(self, name: str, now: datetime | None = None) -> int:
        since = _at((now or _now()) - FAILURE_WINDOW)
        rows = self.rows("SELECT COUNT(*) FROM signin_failures WHERE name = ? AND at > ?",
                         name, since)  # fmt: skip
        return int(rows[0][0])

    def sign_in(self, name: str, password: str, now: datetime | None = None) -> User | None:
        """The active account of ``name`` when ``password`` is its own; None otherwise (a
        failure counted). Raises Locked after too many failures, before checking anything."""
        now = now or _now()
        name = " ".join(name.split())
        if self.failures(name, now) >= MAX_FAILURES:
            raise Locked(name)
        rows = self.rows("SELECT id, role, password FROM users WHERE name = ? AND active = 1",
                         name)  # fmt: skip
        try:
            # an unknown name is hashed against too, so the time does not tell it apart
            stored = rows[0][2] if rows else self.hasher.hash("not a password of anyone's")
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            with self._tx() as db:
                db.execute("INSERT INTO signin_failures (name, at) VALUES (?, ?)",
                           (name, _at(now)))  # fmt: skip
                db.execute("DELETE FROM signin_failures WHERE at < ?",
                           (_at(now - 2 * FAILURE_WINDOW),))  # fmt: skip
            return None
        if not rows:
            return None
        with self._tx() as db:
            db.execute("DELETE FROM signin_failures WHERE name = ?", (name,))
            if self.hasher.check_needs_rehash(stored):  # the parameters were raised since
                db.execute("UPDATE users SET password = ? WHERE id = ?",
                           (self.hasher.hash(password), rows[0][0]))  # fmt: skip
        return User(rows[0][0], name, rows[0][1])

    # -- caseload ----------------------------------------------------------------

    def caseload(self) -> dict[str, str]:
        """V-number → the user id of the client manager who has the newcomer."""
        return {v: u for v, u in self.rows("SELECT v_number, user_id FROM caseload")}

    def give(self, v_number: str, user_id: str | None, by: User) -> None:
        """The newcomer given to ``user_id`` (None: to nobody), by whom and when."""
        with self._tx() as db:
            if user_id is None:
                db.execute("DELETE FROM caseload WHERE v_number = ?", (v_number,))
                return
            db.execute(
                "INSERT INTO caseload (v_number, user_id, given_by, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (v_number) DO UPDATE SET user_id = excluded.user_id,"
                " given_by = excluded.given_by, at = excluded.at",
                (v_number, user_id, by.id, _at(_now())),
            )

    # -- staff pseudonyms ----------------------------------------------------------

    def staff(self, secret: bytes, user: User) -> str:
        """The user's pseudonym, kept with the user so the municipality can say who it was."""
        found = pseudonym(secret, user.id)
        with self._tx() as db:
            db.execute(
                "INSERT INTO staff_pseudonyms (pseudonym, user_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (found, user.id),
            )
        return found

    def who(self, staff: str) -> User | None:
        """Who a pseudonym in a message names (only this console can answer)."""
        rows = self.rows("SELECT user_id FROM staff_pseudonyms WHERE pseudonym = ?", staff)
        return self.get(rows[0][0]) if rows else None
