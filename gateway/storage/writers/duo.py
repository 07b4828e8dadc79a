"""DUO's events inside intake's transaction: what each notification taken in said.

Must not import the service or the web.
"""

from __future__ import annotations

from gateway.domain.message import Message
from gateway.storage import regie
from gateway.storage.writers.buffer import Buffer


class DuoEvents:
    """The ``DuoTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def add(self, message: Message, subject: str, audit_index: int) -> None:
        """DUO's event code and registration time, for the municipality it notified."""
        self.buffer.rows["duo_events"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "message_id": message.message_id,
                "event": message.body["gebeurtenisId"],
                "registered_at": message.issued_at,
            }
        )

    def add_facts(self, message: Message, subject: str, audit_index: int) -> None:
        """What DUO answered, sealed for regie under the newcomer's data key."""
        self.buffer.rows["duo_facts"].append(
            {
                "audit_index": audit_index,
                "subject": subject,
                "municipality": message.recipient,
                "message_id": message.message_id,
                "regie": regie.sealed_view(self.buffer.data_key(subject), message),
            }
        )
