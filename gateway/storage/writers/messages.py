"""Messages and their deliveries, inside intake's transaction.

The accepted message is sealed under its newcomer's data key; a delivery
puts a message in an inbox (the recipient's own, a provider's brief of a
plan, a message handed out again after a consent given later). The stored
copies read with the lock answer ``find`` until this transaction writes a
message. Must not import the service or the web.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from gateway.domain import vault
from gateway.domain.message import Message
from gateway.domain.records import HandedOut, StoredMessage
from gateway.storage import statements, tables
from gateway.storage.inbox import delivery_row
from gateway.storage.writers.buffer import ERASED, Buffer

_D, _M, _N = tables.deliveries, tables.messages, tables.notices


class Messages:
    """The ``MessagesTx`` port: stored copies, inboxes, and whether a newcomer was erased."""

    def __init__(self, buffer: Buffer, stored_at_lock: dict[str, StoredMessage | None] | None):
        self.buffer = buffer
        self._stored_at_lock = stored_at_lock
        """Stored copies of message ids, read with the lock (before this transaction
        wrote any message): authoritative until it does"""

    def find(self, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
        """Those of the message ids that are stored, read under the lock: authoritative."""
        known = self._stored_at_lock
        if known is not None and all(m in known for m in message_ids):
            return {m: stored for m in message_ids if (stored := known[m]) is not None}
        self.buffer.flush()
        return statements.find_messages(self.buffer.conn, message_ids)

    def is_erased(self, subject: str) -> bool:
        """Whether the newcomer's data key was crypto-shredded."""
        return self.buffer.data_key(subject) == ERASED

    def add(
        self, message: Message, subject: str, now: datetime, audit_index: int, receipt: str
    ) -> None:
        """The accepted message, sealed under its newcomer's data key (made on first use)."""
        key = self.buffer.key_for_new_message(subject, now)
        sealed = vault.seal(key, message.raw, message.message_id)
        self._stored_at_lock = None  # from now on this transaction has written messages
        self.buffer.rows["messages"].append(
            {
                "message_id": message.message_id,
                "digest": message.digest,
                "type": message.type,
                "version": message.version,
                "sender": message.sender,
                "recipient": message.recipient,
                "subject": subject,
                "kid": message.kid,
                "issued_at": message.issued_at,
                "received_at": now,
                "audit_index": audit_index,
                "receipt": receipt,
                "sealed": sealed,
            }
        )

    def deliver(
        self,
        recipient: str,
        message_id: str,
        subject: str,
        cursor: int,
        now: datetime,
        supersedes: Sequence[str] | None = None,
    ) -> str:
        """An inbox entry of the message for ``recipient``, ordered by ``cursor``; its id.

        ``supersedes`` names the deliveries a message handed out again follows.
        """
        row = delivery_row(recipient, message_id, subject, cursor, now)
        if supersedes is not None:
            row["supersedes"] = json.dumps(list(supersedes))
        self.buffer.rows["deliveries"].append(row)
        return str(row["delivery_id"])

    def has_delivery(self, recipient: str, message_id: str) -> bool:
        """Whether ``recipient``'s inbox was given this message already."""
        self.buffer.flush()
        query = select(_D.c.delivery_id).where(
            _D.c.recipient == recipient, _D.c.message_id == message_id
        )
        return self.buffer.conn.execute(query.limit(1)).first() is not None

    def handed_out(self, recipient: str, subject: str) -> list[HandedOut]:
        """The messages ``recipient`` was given about the newcomer and acknowledged every
        delivery of, oldest first; notices are not among them, and a message with a
        delivery still waiting is not (its next pull cuts it anew anyway).
        """
        key = self.buffer.data_key(subject)
        if not key:
            return []  # no message, or erased
        self.buffer.flush()
        rows = self.buffer.conn.execute(
            select(_D.c.delivery_id, _D.c.message_id, _D.c.acknowledged_at, _M.c.sealed)
            .join(_M, _M.c.message_id == _D.c.message_id)
            .outerjoin(_N, _N.c.delivery_id == _D.c.delivery_id)
            .where(_D.c.recipient == recipient, _D.c.subject == subject, _N.c.delivery_id.is_(None))
            .order_by(_D.c.cursor)
        ).all()
        deliveries: dict[str, list[str]] = {}
        sealed: dict[str, bytes] = {}
        waiting: set[str] = set()
        for row in rows:
            deliveries.setdefault(row.message_id, []).append(row.delivery_id)
            sealed[row.message_id] = row.sealed
            if row.acknowledged_at is None:
                waiting.add(row.message_id)
        return [
            HandedOut(m, tuple(ids), vault.unseal(key, sealed[m], m))
            for m, ids in deliveries.items()
            if m not in waiting
        ]
