"""The register of parties and their keys, and the assertion ids already used.

Registrations run inside a write transaction the service opens (they are
audited in it); reads are on their own. Nothing here builds an audit event.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.domain.parties import KeyRecord, Party
from gateway.storage import engine, statements, tables


class RegistryStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def find_signer(self, kid: str) -> tuple[KeyRecord, Party] | None:
        """A key and the party that owns it, in one statement (every authenticated read)."""
        with engine.translate_busy(), self.engine.connect() as conn:
            engine.autocommit_reads(conn)
            row = statements.FIND_SIGNER.first(conn, {"kid": kid})
        if row is None:
            return None
        values = row._asdict()
        key, party = (
            statements.joined(values, "key_", "kid"),
            statements.joined(values, "party_", "oin"),
        )
        assert key is not None and party is not None  # an inner join
        return statements.key(key), statements.party(party)

    def find_party(self, oin: str) -> Party | None:
        with engine.read(self.engine) as conn:
            row = statements.FIND_PARTY.first(conn, {"oin": oin})
        return statements.party(row) if row else None

    def list_parties(self) -> list[Party]:
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(tables.parties).order_by(tables.parties.c.oin)).all()
        return [statements.party(r) for r in rows]

    def list_keys(self, oin: str | None = None) -> list[KeyRecord]:
        query = select(tables.keys).order_by(tables.keys.c.oin, tables.keys.c.created_at)
        if oin is not None:
            query = query.where(tables.keys.c.oin == oin)
        with engine.read(self.engine) as conn:
            return [statements.key(r) for r in conn.execute(query).all()]

    def use_jti(self, iss: str, jti: str, keep_until: datetime, now: datetime) -> bool:
        """Record an assertion's jti, forgetting those past their time; False if used before."""
        try:
            with engine.write(self.engine, lock=False) as conn:
                jtis = tables.assertion_jtis
                conn.execute(delete(jtis).where(jtis.c.expires_at < now))
                conn.execute(insert(jtis).values(iss=iss, jti=jti, expires_at=keep_until))
        except IntegrityError:
            return False
        return True


def add_party(conn: Connection, party: Party, now: datetime) -> bool:
    """Register a party in the caller's transaction; False when its OIN or code is taken."""
    p = tables.parties
    taken = p.c.oin == party.oin
    if party.municipality_code is not None:
        taken = or_(taken, p.c.municipality_code == party.municipality_code)
    if conn.execute(select(p.c.oin).where(taken)).first() is not None:
        return False
    conn.execute(
        insert(p).values(
            oin=party.oin,
            role=party.role,
            name=party.name,
            municipality_code=party.municipality_code,
            cert_oin=party.cert_oin,
            created_at=now,
        )
    )
    return True


def add_key(conn: Connection, record: KeyRecord, now: datetime) -> bool:
    """Register a key in the caller's transaction; False when its kid is registered."""
    if statements.FIND_KEY.first(conn, {"kid": record.kid}) is not None:
        return False
    conn.execute(
        insert(tables.keys).values(
            kid=record.kid,
            oin=record.oin,
            jwk=json.dumps(record.jwk, sort_keys=True),
            not_before=record.not_before,
            not_after=record.not_after,
            revoked_at=None,
            created_at=now,
        )
    )
    return True


def find_key(conn: Connection, kid: str) -> KeyRecord | None:
    row = statements.FIND_KEY.first(conn, {"kid": kid})
    return statements.key(row) if row else None


def find_party(conn: Connection, oin: str) -> Party | None:
    row = statements.FIND_PARTY.first(conn, {"oin": oin})
    return statements.party(row) if row else None


def revoke_key(conn: Connection, kid: str, now: datetime) -> None:
    conn.execute(update(tables.keys).where(tables.keys.c.kid == kid).values(revoked_at=now))
