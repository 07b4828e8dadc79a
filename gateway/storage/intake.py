"""Intake's storage: one request's reads, then its buffered write transaction.

A ``Session`` is one pooled connection for everything one request needs:
the key, parties and stored copy a message names (read before the lock),
then the ``Intake`` transaction under the audit counter lock
(``intake_tx``), where the service appends its entries and hands the rows
of what it accepted to each aggregate's writer (``storage.writers``). The
store decides nothing: which events, which receipt, which refusal is the
service's (``gateway.service.intake``). Must not import the service or the web.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from gateway.domain import vault
from gateway.domain.parties import KeyRecord, Party
from gateway.domain.records import StoredMessage
from gateway.storage import engine, statements
from gateway.storage.intake_tx import Intake


class IntakeStore:
    """Where intake's sessions come from."""

    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.vault = keys

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One connection for one request's reads and its write transaction.

        The reads run without a transaction (each statement its own snapshot,
        as on SQLite), which spares PostgreSQL a BEGIN and a COMMIT round trip.
        """
        with engine.translate_busy(), self.engine.connect() as conn:
            engine.autocommit_reads(conn)
            yield Session(conn, self.vault)


    def settle(self) -> None:
        """Return once what is committed is as durable as a new commit: a repeat's receipt
        then promises no more than the first one did. On PostgreSQL a transaction of its own
        commits, and so waits for the synchronous standby, which receives the WAL in order
        (a commit whose wait was cancelled shows on the primary before the standby has it);
        on SQLite every commit already is. The transaction writes one WAL record of its own
        (a transactional logical message; a commit that wrote none does not wait) and
        nothing else. Raises ServiceUnavailable as a write does."""
        if self.engine.dialect.name != "postgresql":
            return
        with engine.write(self.engine, lock=False) as conn:
            conn.execute(text("SELECT pg_logical_emit_message(true, 'inburgering-gateway', '')"))


class Session:
    """One request's reads; what was read is kept for the request's lifetime.

    A batch of a thousand messages from one sender reads its key and parties once.
    """

    def __init__(self, conn: Connection, keys: vault.Vault) -> None:
        self.conn = conn
        self.vault = keys
        self._keys: dict[str, KeyRecord | None] = {}
        self._parties: dict[str, Party | None] = {}
        self._messages: dict[str, StoredMessage | None] = {}

    def prefetch(self, kid: str, message_id: str, sender: str, recipient: str) -> None:
        """Read a message's key, its two parties and a stored copy of it in one statement.

        Called with what the unverified payload claims: lookup keys only,
        bound as parameters; find_key, find_parties and find_message then
        answer from what was read.
        """
        params = {"kid": kid, "message_id": message_id, "sender": sender, "recipient": recipient}
        row = statements.FIRST_READS.first(self.conn, params)
        assert row is not None  # the statement always returns its one row
        values = row._asdict()
        key = statements.joined(values, "key_", "kid")
        self._keys[kid] = statements.key(key) if key else None
        for name, oin in (("sender_", sender), ("recipient_", recipient)):
            party = statements.joined(values, name, "oin")
            self._parties[oin] = statements.party(party) if party else None
        self._messages[message_id] = (
            StoredMessage(row.message_id, row.digest, row.receipt) if row.message_id else None
        )

    def find_key(self, kid: str) -> KeyRecord | None:
        if kid not in self._keys:
            row = statements.FIND_KEY.first(self.conn, {"kid": kid})
            self._keys[kid] = statements.key(row) if row else None
        return self._keys[kid]

    def find_message(self, message_id: str) -> StoredMessage | None:
        """The stored message, from this session's earlier reads where it was read."""
        if message_id not in self._messages:
            row = statements.FIND_MESSAGE.first(self.conn, {"message_id": message_id})
            self._messages[message_id] = StoredMessage(*row) if row else None
        return self._messages[message_id]

    def prefetch_messages(self, message_ids: Sequence[str]) -> None:
        """Look up many message ids in few queries, for find_message to answer from."""
        wanted = [m for m in dict.fromkeys(message_ids) if m not in self._messages]
        found = statements.find_messages(self.conn, wanted)
        self._messages.update({m: found.get(m) for m in wanted})

    def find_party(self, oin: str) -> Party | None:
        if oin not in self._parties:
            row = statements.FIND_PARTY.first(self.conn, {"oin": oin})
            self._parties[oin] = statements.party(row) if row else None
        return self._parties[oin]

    def find_parties(self, first: str, second: str) -> dict[str, Party]:
        """The registered parties among the two OINs, in one query (or none, when known)."""
        wanted = [oin for oin in (first, second) if oin not in self._parties]
        if wanted:
            rows = statements.FIND_TWO_PARTIES.rows(
                self.conn, {"first": wanted[0], "second": wanted[-1]}
            )
            found = {row.oin: statements.party(row) for row in rows}
            self._parties.update({oin: found.get(oin) for oin in wanted})
        return {oin: party for oin in (first, second) if (party := self._parties[oin]) is not None}

    @contextmanager
    def intake(
        self, subjects: Sequence[str] = (), message_ids: Sequence[str] = ()
    ) -> Iterator[Intake]:
        """The write transaction, on this session's connection (see Intake).

        Its first statement takes the counter lock and reads the data keys of
        ``subjects`` and the stored copies of ``message_ids`` with it.
        """
        with engine.write(self.conn, lock=False):
            tx = Intake(self.conn, self.vault, subjects, message_ids)
            yield tx
            tx.flush()
