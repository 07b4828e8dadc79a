"""Integration plan versions inside intake's transaction, per newcomer.

Must not import the service or the web.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gateway.domain.message import Message
from gateway.domain.plans import PlanVersion
from gateway.storage import regie, tables
from gateway.storage.writers.buffer import Buffer

_P = tables.plans


class Plans:
    """The ``PlansTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def history(self, subject: str) -> list[tuple[str, PlanVersion]]:
        """Every accepted plan version of this newcomer, oldest first, with its municipality."""
        self.buffer.flush()
        rows = self.buffer.conn.execute(
            select(_P).where(_P.c.subject == subject).order_by(_P.c.audit_index)
        ).all()
        return [
            (
                r.municipality,
                PlanVersion(r.plan_id, r.plan_version, date.fromisoformat(r.dated), r.message_id),
            )
            for r in rows
        ]

    def owner(self, plan_id: str) -> tuple[str, str] | None:
        """The (subject, municipality) whose plan has this plan_id, or None (any newcomer's)."""
        self.buffer.flush()
        row = self.buffer.conn.execute(
            select(_P.c.subject, _P.c.municipality).where(_P.c.plan_id == plan_id).limit(1)
        ).first()
        return None if row is None else (str(row.subject), str(row.municipality))

    def add(self, plan: PlanVersion, message: Message, subject: str, audit_index: int) -> None:
        self.buffer.rows["plans"].append(
            {
                "audit_index": audit_index,
                "plan_id": plan.plan_id,
                "plan_version": plan.version,
                "subject": subject,
                "municipality": message.recipient,
                "dated": plan.dated.isoformat(),
                "message_id": plan.message_id,
                "regie": regie.sealed_view(self.buffer.data_key(subject), message),
            }
        )
