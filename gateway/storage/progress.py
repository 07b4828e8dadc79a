"""What regie reads of one newcomer: placement, plans, assignments, reports, hours.

Read at the moment the municipality asks, in a handful of statements on one
connection; the bodies of the newest plan and report are unsealed here, as
every stored message is.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway.domain import vault
from gateway.domain.assignments import Assignment
from gateway.domain.progress import HOUR_KINDS
from gateway.domain.records import Stored
from gateway.domain.vocabulary import PROGRESS_REPORT
from gateway.domain.wire import envelope
from gateway.storage import engine, tables


class ProgressStore:
    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.vault = keys

    def stored(self, subject: str) -> Stored | None:
        """Everything regie reads of one newcomer; None when no profile placed them."""
        with engine.read(self.engine) as conn:
            placed = conn.execute(
                select(tables.placements)
                .where(tables.placements.c.subject == subject)
                .order_by(tables.placements.c.audit_index.desc())
                .limit(1)
            ).first()
            if placed is None:
                return None
            where = placed.municipality
            return Stored(
                placed_with=where,
                placed_at=placed.placed_at,
                **_plans(conn, subject, where),
                assignments=_assignments(conn, subject, where),
                last_report=_last_report(conn, subject, where),
                hours=_hours(conn, subject, where),
            )

    def payload(self, message_id: str) -> dict[str, Any]:
        """The payload of a stored message, unsealed ({} when erased since)."""
        m, k = tables.messages, tables.subject_keys
        with engine.read(self.engine) as conn:
            row = conn.execute(
                select(m.c.sealed, m.c.subject, k.c.wrapped_key)
                .join(k, k.c.subject == m.c.subject)
                .where(m.c.message_id == message_id, k.c.wrapped_key.is_not(None))
            ).first()
        if row is None:
            return {}
        raw = vault.unseal(self.vault.unwrap(row.wrapped_key, row.subject), row.sealed, message_id)
        payload: dict[str, Any] = json.loads(envelope.b64url_decode(raw.split(b".")[1].decode()))
        return payload


def _plans(conn: Connection, subject: str, municipality: str) -> dict[str, Any]:
    p = tables.plans
    rows = conn.execute(
        select(p.c.message_id, p.c.dated)
        .where(p.c.subject == subject, p.c.municipality == municipality)
        .order_by(p.c.audit_index)
    ).all()
    return {
        "plan_message": rows[-1].message_id if rows else None,
        "first_plan_dated": date.fromisoformat(rows[0].dated) if rows else None,
    }


def _assignments(conn: Connection, subject: str, municipality: str) -> list[Assignment]:
    a = tables.assignments
    rows = conn.execute(
        select(a).where(a.c.subject == subject, a.c.municipality == municipality).order_by(a.c.id)
    ).all()
    return [
        Assignment(r.assignment_id, r.municipality, r.provider, r.route, r.valid_from,
                   r.valid_until, r.status)
        for r in rows
    ]  # fmt: skip


def _last_report(
    conn: Connection, subject: str, municipality: str
) -> tuple[str, datetime, str] | None:
    m = tables.messages
    row = conn.execute(
        select(m.c.message_id, m.c.received_at, m.c.sender)
        .where(m.c.subject == subject, m.c.recipient == municipality, m.c.type == PROGRESS_REPORT)
        .order_by(m.c.audit_index.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.message_id, row.received_at, row.sender)


def _hours(conn: Connection, subject: str, municipality: str) -> dict[str, tuple[int, str]]:
    h = tables.hours
    rows = conn.execute(
        select(h)
        .where(h.c.subject == subject, h.c.municipality == municipality)
        .order_by(h.c.audit_index)
    ).all()
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    for row in rows:
        for kind in HOUR_KINDS:
            if (value := getattr(row, kind)) is not None:
                newest[(row.provider, kind)] = (value, row.message_id)
    totals: dict[str, tuple[int, str]] = {}
    for (_, kind), (value, message_id) in newest.items():
        before = totals.get(kind, (0, message_id))[0]
        totals[kind] = (before + value, message_id)
    return totals
