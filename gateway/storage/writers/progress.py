"""Progress inside intake's transaction: reports, and the hours they total.

Must not import the service or the web.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from gateway.domain.message import Message
from gateway.domain.progress import HOUR_KINDS
from gateway.storage import regie, tables
from gateway.storage.writers.buffer import Buffer

_H = tables.hours


class Progress:
    """The ``ProgressTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def hour_totals(self, subject: str, provider: str) -> dict[str, int]:
        """The newest total of each kind of hours this provider reported for this newcomer."""
        self.buffer.flush()
        rows = self.buffer.conn.execute(
            select(_H)
            .where(_H.c.subject == subject, _H.c.provider == provider)
            .order_by(_H.c.audit_index)
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
        self.buffer.rows["hours"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "provider": message.sender,
                **{kind: totals.get(kind) for kind in HOUR_KINDS},
                "message_id": message.message_id,
            }
        )

    def add_report(self, message: Message, subject: str, audit_index: int, now: datetime) -> None:
        """An accepted progress report: the newest per newcomer is the one signals judge."""
        self.buffer.rows["reports"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "provider": message.sender,
                "message_id": message.message_id,
                "received_at": now,
                "regie": regie.sealed_view(self.buffer.data_key(subject), message),
            }
        )
