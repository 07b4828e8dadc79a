"""What a recipient was already handed, inside intake's transaction: for consent given later.

A part of ``Intake`` (``storage.intake_tx``), which it is mixed into: the
same buffered rows, flushed before each read, under the same lock. When a
declaration is accepted the service asks which messages the grantee was
given and acknowledged about the newcomer, and puts those the declaration
releases more of in the inbox once more (``service.releases``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.domain import vault
from gateway.domain.records import HandedOut
from gateway.storage import tables
from gateway.storage.inbox import delivery_row

_D, _M, _N = tables.deliveries, tables.messages, tables.notices


class HandoutRows:
    conn: Connection
    _rows: dict[str, list[dict[str, Any]]]
    flush: Callable[[], None]
    _data_key: Callable[[str], bytes | None]

    def handed_out(self, recipient: str, subject: str) -> list[HandedOut]:
        """The messages ``recipient`` was given about the newcomer and acknowledged every
        delivery of, oldest first; notices are not among them, and a message with a
        delivery still waiting is not (its next pull cuts it anew anyway).
        """
        key = self._data_key(subject)
        if not key:
            return []  # no message, or erased
        self.flush()
        rows = self.conn.execute(
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

    def add_redelivery(
        self,
        recipient: str,
        message_id: str,
        subject: str,
        cursor: int,
        now: datetime,
        supersedes: Sequence[str],
    ) -> None:
        """The message in ``recipient``'s inbox once more, naming the deliveries it follows."""
        row = delivery_row(recipient, message_id, subject, cursor, now)
        self._rows["deliveries"].append({**row, "supersedes": json.dumps(list(supersedes))})
