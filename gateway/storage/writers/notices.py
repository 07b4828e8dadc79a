"""Withdrawal notices inside intake's transaction, and what earlier pulls carried.

A notice is a delivery (in the grantee's inbox) with the notice's own row.
Must not import the service or the web.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from gateway.domain.message import Message
from gateway.domain.records import Notice
from gateway.storage import tables
from gateway.storage.inbox import delivery_row
from gateway.storage.writers.buffer import Buffer

_C = tables.carried


class Notices:
    """The ``NoticesTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def carried(self, recipient: str, declaration_id: str, categories: Sequence[str]) -> list[str]:
        """The deliveries pulled that carried any of ``categories`` on this declaration."""
        if not categories:
            return []
        query = (
            select(_C.c.delivery_id)
            .where(
                _C.c.recipient == recipient,
                _C.c.declaration_id == declaration_id,
                _C.c.category.in_(list(categories)),
            )
            .distinct()
            .order_by(_C.c.delivery_id)
        )
        return [row.delivery_id for row in self.buffer.conn.execute(query)]

    def add(
        self, message: Message, subject: str, cursor: int, now: datetime, notice: Notice
    ) -> None:
        """A withdrawal notice in the recipient's inbox, ordered by ``cursor``."""
        row = delivery_row(message.recipient, message.message_id, subject, cursor, now)
        self.buffer.rows["deliveries"].append(row)
        self.buffer.rows["notices"].append(
            {
                "delivery_id": row["delivery_id"],
                "declaration_id": notice.declaration_id,
                "withdrawn_at": notice.withdrawn_at,
                "categories": json.dumps(list(notice.categories)),
                "affected_deliveries": json.dumps(list(notice.affected_deliveries)),
            }
        )
