"""Inboxes: deliveries waiting, leased, read back unsealed, acknowledged.

What may leave is decided by the service at the moment of the pull; this
module finds the deliveries and the stored bodies, nothing more.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from gateway.domain import vault
from gateway.domain.assignments import Assignment
from gateway.domain.records import Acknowledged, Carried, Notice, Pending
from gateway.storage import engine, tables

_D, _M, _K = tables.deliveries, tables.messages, tables.subject_keys


class InboxStore:
    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.vault = keys

    def pending(
        self,
        recipient: str,
        after: int,
        limit: int,
        now: datetime,
        lease: timedelta = timedelta(0),
    ) -> list[Pending]:
        """Unacknowledged deliveries for ``recipient`` beyond the cursor, in cursor order.

        A delivery leased to another pull is skipped until its lease ends. With
        a ``lease``, the page is leased to this pull: the rows are taken with
        ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL; SQLite's write lock
        serialises pulls), so two pullers of one recipient never get one
        delivery at once, and neither waits on the other or on the audit lock.
        """
        query = (
            select(
                _D.c.delivery_id,
                _D.c.cursor,
                _D.c.message_id,
                _D.c.subject,
                _M.c.received_at,
                _D.c.supersedes,
            )
            .join(_M, _M.c.message_id == _D.c.message_id)
            .where(
                _D.c.recipient == recipient,
                _D.c.cursor > after,
                _D.c.acknowledged_at.is_(None),
                or_(_D.c.leased_until.is_(None), _D.c.leased_until <= now),
            )
            .order_by(_D.c.cursor)
            .limit(limit)
        )
        if not lease:
            with engine.read(self.engine) as conn:
                return [_pending(row) for row in conn.execute(query).all()]
        with engine.write(self.engine, lock=False) as conn:
            rows = conn.execute(query.with_for_update(skip_locked=True, of=_D)).all()
            if rows:
                conn.execute(
                    update(_D)
                    .where(_D.c.delivery_id.in_([row.delivery_id for row in rows]))
                    .values(leased_until=now + lease)
                )
        return [_pending(row) for row in rows]

    def backlog(self) -> dict[str, int]:
        """Unacknowledged deliveries per recipient (organisations' OINs): for the metrics."""
        d = tables.deliveries
        query = (
            select(d.c.recipient, func.count())
            .where(d.c.acknowledged_at.is_(None))
            .group_by(d.c.recipient)
        )
        with engine.read(self.engine) as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    def notices(self, delivery_ids: Sequence[str]) -> dict[str, Notice]:
        """The withdrawal notices among these deliveries, by delivery id."""
        n = tables.notices
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(n).where(n.c.delivery_id.in_(list(delivery_ids)))).all()
        return {
            row.delivery_id: Notice(
                row.declaration_id,
                row.withdrawn_at,
                tuple(json.loads(row.categories)),
                tuple(json.loads(row.affected_deliveries)),
            )
            for row in rows
        }

    def assignments(self, provider: str, subjects: Sequence[str]) -> dict[str, list[Assignment]]:
        """Every assignment version of ``provider`` for these newcomers, oldest first."""
        a = tables.assignments
        found: dict[str, list[Assignment]] = {s: [] for s in subjects}
        with engine.read(self.engine) as conn:
            rows = conn.execute(
                select(a)
                .where(a.c.provider == provider, a.c.subject.in_(list(subjects)))
                .order_by(a.c.id)
            ).all()
        for r in rows:
            found[r.subject].append(
                Assignment(
                    r.assignment_id,
                    r.municipality,
                    r.provider,
                    r.route,
                    r.valid_from,
                    r.valid_until,
                    r.status,
                )
            )
        return found

    def read_messages(self, message_ids: Sequence[str]) -> dict[str, bytes]:
        """Raw JWSs of several messages, unsealed, in one query; erased ones are absent."""
        with engine.read(self.engine) as conn:
            rows = conn.execute(
                select(_M.c.message_id, _M.c.sealed, _M.c.subject, _K.c.wrapped_key)
                .join(_K, _K.c.subject == _M.c.subject)
                .where(_M.c.message_id.in_(list(message_ids)), _K.c.wrapped_key.is_not(None))
            ).all()
        keys: dict[str, bytes] = {}
        found = {}
        for row in rows:
            if row.subject not in keys:
                keys[row.subject] = self.vault.unwrap(row.wrapped_key, row.subject)
            found[row.message_id] = vault.unseal(keys[row.subject], row.sealed, row.message_id)
        return found


def _pending(row: Any) -> Pending:
    supersedes = tuple(json.loads(row.supersedes)) if row.supersedes else ()
    return Pending(
        row.delivery_id, row.cursor, row.message_id, row.subject, row.received_at, supersedes
    )


def delivery_row(
    recipient: str, message_id: str, subject: str, cursor: int, now: datetime
) -> dict[str, Any]:
    """A new, unacknowledged inbox entry; ``cursor`` orders ``recipient``'s inbox."""
    return {
        "delivery_id": str(uuid.uuid4()),
        "cursor": cursor,
        "message_id": message_id,
        "recipient": recipient,
        "subject": subject,
        "acknowledged_at": None,
        "created_at": now,
        "leased_until": None,
        "supersedes": None,
    }


def record_carried(conn: Connection, carried: Sequence[Carried], now: datetime) -> None:
    """What a pull handed out on the basis of a consent, for a later withdrawal to name."""
    if carried:
        rows = [{**dataclasses.asdict(c), "pulled_at": now} for c in carried]
        conn.execute(insert(tables.carried), rows)


def acknowledge(
    conn: Connection, recipient: str, delivery_id: str, now: datetime
) -> Acknowledged | None:
    """Mark a delivery acknowledged, once, inside the caller's transaction.

    None when there is no such delivery for ``recipient``: another
    recipient's delivery is as absent as one that does not exist.
    """
    row = conn.execute(
        select(
            _D.c.delivery_id,
            _D.c.cursor,
            _D.c.message_id,
            _D.c.subject,
            _D.c.created_at,
            _D.c.acknowledged_at,
        ).where(_D.c.delivery_id == delivery_id, _D.c.recipient == recipient)
    ).first()
    if row is None:
        return None
    first = row.acknowledged_at is None
    if first:
        conn.execute(update(_D).where(_D.c.delivery_id == delivery_id).values(acknowledged_at=now))
    delivery = Pending(row.delivery_id, row.cursor, row.message_id, row.subject, row.created_at)
    return Acknowledged(delivery, first)
