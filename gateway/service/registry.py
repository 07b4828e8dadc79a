"""The operator's register: parties and keys, each change audited in its transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from gateway.domain import policy
from gateway.domain.audit.events import Event
from gateway.domain.parties import KeyRecord, Party
from gateway.domain.vocabulary import ADMINISTRATION
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.service.services import Services


def _admin_event(event: str, actor: str, trace_id: str, reason: str) -> Event:
    return Event(
        event=event,
        actor=actor,
        outcome="ok",
        trace_id=trace_id,
        processing_activity=ADMINISTRATION,
        reason=reason,
    )


def register_party(services: Services, party: Party, now: datetime, trace_id: str) -> None:
    """Raises Conflict when the OIN or municipality code is registered already."""
    with services.store.write() as tx:
        if not tx.add_party(party, now):
            raise Conflict(
                "party (or municipality code) already registered", reason="already-registered"
            )
        tx.append(
            [_admin_event("party.registered", party.oin, trace_id, f"role:{party.role}")], now
        )


def register_key(services: Services, record: KeyRecord, now: datetime, trace_id: str) -> None:
    """Raises NotFound for an unknown party, Conflict for a key registered already."""
    with services.store.write() as tx:
        if tx.find_party(record.oin) is None:
            raise NotFound("no party with this OIN")
        if not tx.add_key(record, now):
            raise Conflict("key already registered", reason="already-registered")
        event = _admin_event("key.registered", record.oin, trace_id, f"kid:{record.kid}")
        tx.append([event], now)


def revoke_key(services: Services, kid: str, now: datetime, trace_id: str) -> KeyRecord:
    """Revoke from ``now`` on. Raises NotFound for an unknown kid, BadRequest if revoked."""
    with services.store.write() as tx:
        record = tx.find_key(kid)
        if record is None:
            raise NotFound("no key with this kid")
        if record.revoked_at is not None:
            raise BadRequest("key already revoked")
        tx.revoke_key(kid, now)
        tx.append([_admin_event("key.revoked", record.oin, trace_id, f"kid:{kid}")], now)
    return dataclasses.replace(record, revoked_at=now)


def directory(services: Services, party: Party, role: str | None = None) -> list[Party]:
    """The registered parties, ``role`` only if given, for a party that may read them."""
    policy.require(party.role, policy.READ_DIRECTORY)
    return [p for p in services.store.registry.list_parties() if role is None or p.role == role]


def issuer_keys(services: Services, party: Party, oin: str, now: datetime) -> list[KeyRecord]:
    """The keys ``oin`` may sign with now (neither expired nor revoked), for a recipient
    that verifies its signature itself and pins them. Raises NotFound unless ``oin`` is a
    registered party whose signature recipients verify (COA)."""
    policy.require(party.role, policy.READ_DIRECTORY)
    issuer = services.store.registry.find_party(oin)
    if issuer is None or not policy.verified_by_recipients(issuer.role):
        raise NotFound("no party whose signature its recipients verify has this OIN")
    return [k for k in services.store.registry.list_keys(oin) if k.is_valid_at(now)]


def purge(services: Services, before: datetime, now: datetime, *, dry_run: bool = False) -> int:
    """Crypto-shred the newcomers whose retention ended before ``before``; how many."""
    return services.store.retention.purge(before, now, dry_run=dry_run)
