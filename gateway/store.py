"""The repository: every read and write of the gateway's state, in SQL.

Each write is one transaction that also appends its audit entry, so a state
change without its entry (or the reverse) cannot exist. The audit index comes
from a counter row updated in that same transaction: on PostgreSQL the update
takes the row lock that serialises appends across processes, and it never
leaves a gap the way a sequence does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from gateway import audit, db, vault
from gateway.assignments import Assignment
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.message import Message
from gateway.parties import KeyRecord, Party


@dataclass(frozen=True, slots=True)
class AuditRef:
    index: int
    leaf_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message_id: str
    digest: str
    receipt: str


class Store:
    def __init__(self, engine: Engine, vault_: vault.Vault, pseudonym_key: bytes) -> None:
        self.engine = engine
        self.vault = vault_
        self.pseudonym_key = pseudonym_key

    def pseudonym(self, v_number: str) -> str:
        return audit.pseudonym(self.pseudonym_key, v_number)

    # -- audit ---------------------------------------------------------------

    def append(self, conn: Connection, event: audit.Event, now: datetime) -> AuditRef:
        """Append one entry inside the caller's transaction."""
        index = (
            conn.execute(
                update(db.audit_counter)
                .where(db.audit_counter.c.id == 1)
                .values(next_index=db.audit_counter.c.next_index + 1)
                .returning(db.audit_counter.c.next_index)
            ).scalar_one()
            - 1
        )
        data = audit.canonical(audit.entry(index, now, event))
        leaf = audit.leaf_hash(data)
        conn.execute(
            insert(db.audit_entries).values(
                idx=index,
                entry=data,
                leaf_hash=leaf,
                event=event.event,
                subject=event.subject,
                created_at=now,
            )
        )
        return AuditRef(index=index, leaf_hash=leaf)

    def record_event(self, event: audit.Event, now: datetime) -> AuditRef:
        """An audit entry on its own (refusals, reads)."""
        with db.write(self.engine) as conn:
            return self.append(conn, event, now)

    def audit_entries(self, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        with db.read(self.engine) as conn:
            query = select(db.audit_entries).where(db.audit_entries.c.idx >= start)
            if end is not None:
                query = query.where(db.audit_entries.c.idx < end)
            rows = conn.execute(query.order_by(db.audit_entries.c.idx)).all()
        return [
            {"index": r.idx, "entry": json.loads(r.entry), "leaf_hash": r.leaf_hash} for r in rows
        ]

    # -- parties and keys ----------------------------------------------------

    def add_party(self, party: Party, now: datetime, trace_id: str) -> None:
        """Raises Conflict when the OIN or municipality code is registered already."""
        try:
            with db.write(self.engine) as conn:
                conn.execute(
                    insert(db.parties).values(
                        oin=party.oin,
                        role=party.role,
                        name=party.name,
                        municipality_code=party.municipality_code,
                        created_at=now,
                    )
                )
                self.append(
                    conn,
                    audit.Event(
                        event="party.registered",
                        actor=party.oin,
                        outcome="ok",
                        trace_id=trace_id,
                        processing_activity=audit.ADMINISTRATION,
                        reason=f"role:{party.role}",
                    ),
                    now,
                )
        except IntegrityError:
            raise Conflict("party (or municipality code) already registered") from None

    def find_party(self, oin: str) -> Party | None:
        with db.read(self.engine) as conn:
            row = conn.execute(select(db.parties).where(db.parties.c.oin == oin)).first()
        return _party(row) if row else None

    def list_parties(self) -> list[Party]:
        with db.read(self.engine) as conn:
            rows = conn.execute(select(db.parties).order_by(db.parties.c.oin)).all()
        return [_party(r) for r in rows]

    def add_key(self, record: KeyRecord, now: datetime, trace_id: str) -> None:
        """Raises NotFound for an unknown party, Conflict for a key registered already."""
        try:
            with db.write(self.engine) as conn:
                owner = conn.execute(select(db.parties.c.oin).where(db.parties.c.oin == record.oin))
                if owner.first() is None:
                    raise NotFound("no party with this OIN")
                conn.execute(
                    insert(db.keys).values(
                        kid=record.kid,
                        oin=record.oin,
                        jwk=json.dumps(record.jwk, sort_keys=True),
                        not_before=record.not_before,
                        not_after=record.not_after,
                        revoked_at=None,
                        created_at=now,
                    )
                )
                self.append(
                    conn,
                    audit.Event(
                        event="key.registered",
                        actor=record.oin,
                        outcome="ok",
                        trace_id=trace_id,
                        processing_activity=audit.ADMINISTRATION,
                        reason=f"kid:{record.kid}",
                    ),
                    now,
                )
        except IntegrityError:
            raise Conflict("key already registered") from None

    def revoke_key(self, kid: str, now: datetime, trace_id: str) -> KeyRecord:
        """Revoke from ``now`` on. Raises NotFound for an unknown kid, BadRequest if revoked."""
        with db.write(self.engine) as conn:
            row = conn.execute(select(db.keys).where(db.keys.c.kid == kid)).first()
            if row is None:
                raise NotFound("no key with this kid")
            if row.revoked_at is not None:
                raise BadRequest("key already revoked")
            conn.execute(update(db.keys).where(db.keys.c.kid == kid).values(revoked_at=now))
            self.append(
                conn,
                audit.Event(
                    event="key.revoked",
                    actor=row.oin,
                    outcome="ok",
                    trace_id=trace_id,
                    processing_activity=audit.ADMINISTRATION,
                    reason=f"kid:{kid}",
                ),
                now,
            )
        return dataclasses.replace(_key(row), revoked_at=now)

    def find_key(self, kid: str) -> KeyRecord | None:
        with db.read(self.engine) as conn:
            row = conn.execute(select(db.keys).where(db.keys.c.kid == kid)).first()
        return _key(row) if row else None

    def list_keys(self, oin: str | None = None) -> list[KeyRecord]:
        query = select(db.keys).order_by(db.keys.c.oin, db.keys.c.created_at)
        if oin is not None:
            query = query.where(db.keys.c.oin == oin)
        with db.read(self.engine) as conn:
            return [_key(r) for r in conn.execute(query).all()]

    # -- messages ------------------------------------------------------------

    def find_message(self, message_id: str) -> StoredMessage | None:
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(db.messages.c.message_id, db.messages.c.digest, db.messages.c.receipt).where(
                    db.messages.c.message_id == message_id
                )
            ).first()
        return StoredMessage(*row) if row else None

    def assignment_history(self, municipality: str, v_number: str) -> list[Assignment]:
        """Every assignment version for this newcomer at this municipality, oldest first."""
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(db.assignments)
                .where(
                    db.assignments.c.municipality == municipality,
                    db.assignments.c.subject == self.pseudonym(v_number),
                )
                .order_by(db.assignments.c.id)
            ).all()
        return [
            Assignment(
                assignment_id=r.assignment_id,
                municipality=r.municipality,
                provider=r.provider,
                route=r.route,
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                status=r.status,
            )
            for r in rows
        ]

    def record_message(
        self,
        message: Message,
        now: datetime,
        trace_id: str,
        make_receipt: Callable[[AuditRef], str],
        assignment: Assignment | None = None,
    ) -> tuple[StoredMessage, bool]:
        """Store the message, sealed, with its audit entry and receipt, in one transaction.

        Returns the stored message and whether it is new. A message_id stored
        before is returned as it was (the caller compares digests), so two
        racing retries of one message store it once.
        """
        subject = self.pseudonym(message.v_number)
        try:
            with db.write(self.engine) as conn:
                existing = conn.execute(
                    select(
                        db.messages.c.message_id, db.messages.c.digest, db.messages.c.receipt
                    ).where(db.messages.c.message_id == message.message_id)
                ).first()
                if existing is not None:
                    return StoredMessage(*existing), False
                data_key = self._data_key(conn, subject, now)
                ref = self.append(
                    conn,
                    audit.Event(
                        event="message.accepted",
                        actor=message.sender,
                        outcome="accepted",
                        trace_id=trace_id,
                        subject=subject,
                        message_id=message.message_id,
                        type=message.type,
                        processing_activity=audit.PROCESSING_ACTIVITY[message.type],
                    ),
                    now,
                )
                receipt = make_receipt(ref)
                conn.execute(
                    insert(db.messages).values(
                        message_id=message.message_id,
                        digest=message.digest,
                        type=message.type,
                        version=message.version,
                        sender=message.sender,
                        recipient=message.recipient,
                        subject=subject,
                        kid=message.kid,
                        issued_at=message.issued_at,
                        received_at=now,
                        audit_index=ref.index,
                        receipt=receipt,
                        sealed=vault.seal(data_key, message.raw, message.message_id),
                    )
                )
                if assignment is not None:
                    conn.execute(
                        insert(db.assignments).values(
                            assignment_id=assignment.assignment_id,
                            message_id=message.message_id,
                            municipality=assignment.municipality,
                            provider=assignment.provider,
                            subject=subject,
                            route=assignment.route,
                            valid_from=assignment.valid_from,
                            valid_until=assignment.valid_until,
                            status=assignment.status,
                            recorded_at=now,
                        )
                    )
                return StoredMessage(message.message_id, message.digest, receipt), True
        except IntegrityError:
            # Another process stored the same message_id between our check and insert.
            stored = self.find_message(message.message_id)
            if stored is None:
                raise
            return stored, False

    def _data_key(self, conn: Connection, subject: str, now: datetime) -> bytes:
        row = conn.execute(
            select(db.subject_keys.c.wrapped_key).where(db.subject_keys.c.subject == subject)
        ).first()
        if row is not None:
            if row.wrapped_key is None:
                raise Conflict("this newcomer's data was erased; the gateway takes no more of it")
            return self.vault.unwrap(row.wrapped_key, subject)
        key = vault.Vault.new_data_key()
        conn.execute(
            insert(db.subject_keys).values(
                subject=subject,
                wrapped_key=self.vault.wrap(key, subject),
                created_at=now,
            )
        )
        return key

    def read_message(self, message_id: str) -> bytes:
        """The raw JWS as received, unsealed. Raises NotFound if absent or erased."""
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(db.messages.c.sealed, db.subject_keys.c.wrapped_key, db.messages.c.subject)
                .join(db.subject_keys, db.subject_keys.c.subject == db.messages.c.subject)
                .where(db.messages.c.message_id == message_id)
            ).first()
        if row is None or row.wrapped_key is None:
            raise NotFound("no such message")
        data_key = self.vault.unwrap(row.wrapped_key, row.subject)
        return vault.unseal(data_key, row.sealed, message_id)

    def count(self, table: str) -> int:
        """Rows in a table (tests, health, benchmarks)."""
        allowed = {t.name for t in db.metadata.sorted_tables}
        if table not in allowed:
            raise ValueError("unknown table")
        with db.read(self.engine) as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608

    def ping(self) -> None:
        with db.read(self.engine) as conn:
            conn.execute(text("SELECT 1"))


def _party(row: Any) -> Party:
    return Party(oin=row.oin, role=row.role, name=row.name, municipality_code=row.municipality_code)


def _key(row: Any) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        oin=row.oin,
        jwk=json.loads(row.jwk),
        not_before=row.not_before,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
    )
