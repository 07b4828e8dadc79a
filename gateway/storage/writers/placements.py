"""Placements inside intake's transaction: where each newcomer is placed, by profile.

Must not import the service or the web.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.message import Message
from gateway.storage import regie, statements
from gateway.storage.writers.buffer import Buffer


class Placements:
    """The ``PlacementsTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def current(self, subject: str) -> str | None:
        """The municipality the newcomer is placed with now (this transaction's rows count)."""
        self.buffer.flush()
        row = self.buffer.conn.execute(statements.PLACEMENT, {"subject": subject}).first()
        return None if row is None else str(row.municipality)

    def add(self, message: Message, subject: str, audit_index: int, now: datetime) -> None:
        """The newcomer is placed with the recipient of this message, from now on: a
        handover profile's, or a DUO notification's that the newcomer settled there."""
        self.buffer.rows["placements"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "message_id": message.message_id,
                "placed_at": now,
                "linked_on": message.body.get("placement", {}).get("linked_on"),
                "regie": regie.sealed_view(self.buffer.data_key(subject), message),
            }
        )
