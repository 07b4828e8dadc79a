"""The storage the services are given: one object per aggregate, one way to write.

``Store`` composes the aggregates (intake, audit log, inbox, registry,
consent, retention) on one engine and opens the generic write transaction,
``Writes``, for the changes that are not intake: refusals and reads entered
in the log, acknowledgements, registrations. Each commits with its audit
entries or not at all. The service layer sees these through the Protocols of
``gateway.service.ports``; it never names a SQLAlchemy type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, text

from gateway.domain import vault
from gateway.domain.audit.events import Event
from gateway.domain.parties import KeyRecord, Party
from gateway.domain.records import Acknowledged, AuditRef, Carried, StoredMessage
from gateway.errors import NotFound
from gateway.storage import auditlog, engine, health, inbox, registry, tables
from gateway.storage.auditlog import AuditLogStore
from gateway.storage.consent import ConsentStore
from gateway.storage.inbox import InboxStore
from gateway.storage.intake import IntakeStore
from gateway.storage.ldvcursor import LdvCursorStore
from gateway.storage.profiles import ProfileStore
from gateway.storage.progress import ProgressStore
from gateway.storage.ratelimits import RateStore
from gateway.storage.registry import RegistryStore
from gateway.storage.retention import RetentionStore
from gateway.storage.witnesses import WitnessStore


class Writes:
    """One write transaction under the audit counter lock (``Store.write``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, events: Sequence[Event], now: datetime) -> list[AuditRef]:
        return auditlog.append(self.conn, events, now)

    def record_carried(self, carried: Sequence[Carried], now: datetime) -> None:
        inbox.record_carried(self.conn, carried, now)

    def acknowledge(self, recipient: str, delivery_id: str, now: datetime) -> Acknowledged | None:
        return inbox.acknowledge(self.conn, recipient, delivery_id, now)

    def add_party(self, party: Party, now: datetime) -> bool:
        return registry.add_party(self.conn, party, now)

    def find_party(self, oin: str) -> Party | None:
        return registry.find_party(self.conn, oin)

    def add_key(self, record: KeyRecord, now: datetime) -> bool:
        return registry.add_key(self.conn, record, now)

    def find_key(self, kid: str) -> KeyRecord | None:
        return registry.find_key(self.conn, kid)

    def revoke_key(self, kid: str, now: datetime) -> None:
        registry.revoke_key(self.conn, kid, now)


class Store:
    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.intake = IntakeStore(db, keys)
        self.audit = AuditLogStore(db)
        self.inbox = InboxStore(db, keys)
        self.registry = RegistryStore(db)
        self.consent = ConsentStore(db)
        self.retention = RetentionStore(db)
        self.progress = ProgressStore(db, keys)
        self.ratelimits = RateStore(db)
        self.profiles = ProfileStore(db, keys)
        self.witnesses = WitnessStore(db)
        self.ldv = LdvCursorStore(db)

    @contextmanager
    def write(self) -> Iterator[Writes]:
        """A write transaction holding the audit counter lock from its start."""
        with engine.write(self.engine) as conn:
            yield Writes(conn)

    def ping(self) -> None:
        """Raises ServiceUnavailable when the database does not answer, or cannot write."""
        with engine.read(self.engine) as conn:
            conn.execute(text("SELECT 1"))
        health.check_writable(self.engine)

    # -- for tests, the demo and benchmarks: not in the service's ports ------

    def count(self, table: str) -> int:
        """Rows in a table."""
        known = {t.name: t for t in tables.metadata.sorted_tables}
        if table not in known:
            raise ValueError("unknown table")
        with engine.read(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(known[table])).scalar_one())

    def find_message(self, message_id: str) -> StoredMessage | None:
        """The stored digest and receipt of a message, if it was accepted."""
        with self.intake.session() as session:
            return session.find_message(message_id)

    def read_message(self, message_id: str) -> bytes:
        """The raw JWS as received, unsealed. Raises NotFound if absent or erased."""
        found = self.inbox.read_messages([message_id])
        if message_id not in found:
            raise NotFound("no such message")
        return found[message_id]
