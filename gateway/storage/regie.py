"""Regie's rows inside intake's transaction: plan versions, hours, providers' briefs.

A part of ``Intake`` (``storage.intake_tx``), which it is mixed into: the
same buffered rows, flushed before each read, under the same lock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.domain.message import Message
from gateway.domain.plans import PlanVersion
from gateway.domain.progress import HOUR_KINDS
from gateway.storage import tables
from gateway.storage.inbox import delivery_row


def regie_aad(message_id: str) -> str:
    """The associated data of a message's sealed regie view: it opens beside that message only."""
    return f"{message_id}/regie"


class RegieRows:
    conn: Connection
    _rows: dict[str, list[dict[str, Any]]]

    def flush(self) -> None:
        raise NotImplementedError

    def sealed_view(self, message: Message, subject: str) -> bytes | None:
        raise NotImplementedError

    def plan_history(self, subject: str) -> list[tuple[str, PlanVersion]]:
        """Every accepted plan version of this newcomer, oldest first, with its municipality."""
        self.flush()
        p = tables.plans
        rows = self.conn.execute(
            select(p).where(p.c.subject == subject).order_by(p.c.audit_index)
        ).all()
        return [
            (
                r.municipality,
                PlanVersion(r.plan_id, r.plan_version, date.fromisoformat(r.dated), r.message_id),
            )
            for r in rows
        ]

    def plan_owner(self, plan_id: str) -> tuple[str, str] | None:
        """The (subject, municipality) whose plan has this plan_id, or None (any newcomer's)."""
        self.flush()
        p = tables.plans
        row = self.conn.execute(
            select(p.c.subject, p.c.municipality).where(p.c.plan_id == plan_id).limit(1)
        ).first()
        return None if row is None else (str(row.subject), str(row.municipality))

    def add_plan(self, plan: PlanVersion, message: Message, subject: str, audit_index: int) -> None:
        self._rows["plans"].append(
            {
                "audit_index": audit_index,
                "plan_id": plan.plan_id,
                "plan_version": plan.version,
                "subject": subject,
                "municipality": message.recipient,
                "dated": plan.dated.isoformat(),
                "message_id": plan.message_id,
                "regie": self.sealed_view(message, subject),
            }
        )

    def add_report(self, message: Message, subject: str, audit_index: int, now: datetime) -> None:
        """An accepted progress report: the newest per newcomer is the one signals judge."""
        self._rows["reports"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "provider": message.sender,
                "message_id": message.message_id,
                "received_at": now,
                "regie": self.sealed_view(message, subject),
            }
        )

    def hour_totals(self, subject: str, provider: str) -> dict[str, int]:
        """The newest total of each kind of hours this provider reported for this newcomer."""
        self.flush()
        h = tables.hours
        rows = self.conn.execute(
            select(h)
            .where(h.c.subject == subject, h.c.provider == provider)
            .order_by(h.c.audit_index)
        ).all()
        totals: dict[str, int] = {}
        for row in rows:
            for kind in HOUR_KINDS:
                if (value := getattr(row, kind)) is not None:
                    totals[kind] = value
        return totals

    def add_hours(
        self, message: Message, subject: str, audit_index: int, totals: dict[str, int]
    ) -> None:
        self._rows["hours"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "provider": message.sender,
                **{kind: totals.get(kind) for kind in HOUR_KINDS},
                "message_id": message.message_id,
            }
        )

    def has_delivery(self, recipient: str, message_id: str) -> bool:
        """Whether ``recipient``'s inbox was given this message already."""
        self.flush()
        d = tables.deliveries
        query = select(d.c.delivery_id).where(
            d.c.recipient == recipient, d.c.message_id == message_id
        )
        return self.conn.execute(query.limit(1)).first() is not None

    def add_brief(
        self, provider: str, plan_message_id: str, subject: str, cursor: int, now: datetime
    ) -> None:
        """A brief of a plan in a provider's inbox; ``cursor`` orders that inbox."""
        self._rows["deliveries"].append(
            delivery_row(provider, plan_message_id, subject, cursor, now)
        )
