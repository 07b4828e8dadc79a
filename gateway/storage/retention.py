"""Retention: crypto-shredding the newcomers whose retention ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update

from gateway.storage import engine, tables


class RetentionStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def purge(self, before: datetime, now: datetime, *, dry_run: bool = False) -> int:
        """Erase the data keys of newcomers with nothing open since ``before``; how many.

        Eligible: every delivery acknowledged, the last acknowledgement before
        ``before``, and no open delivery. Their data key is erased (so every
        sealed body of theirs is unreadable by anyone, backups included once the
        key is gone from them too) and their deliveries are deleted. The audit
        log, which holds only hashes and pseudonyms, is untouched and verifies.
        """
        d, keys = tables.deliveries, tables.subject_keys
        with engine.write(self.engine) as conn:
            open_subjects = select(d.c.subject).where(d.c.acknowledged_at.is_(None))
            eligible = [
                row.subject
                for row in conn.execute(
                    select(d.c.subject)
                    .where(d.c.subject.not_in(open_subjects))
                    .group_by(d.c.subject)
                    .having(func.max(d.c.acknowledged_at) < before)
                )
            ]
            if not dry_run and eligible:
                conn.execute(
                    update(keys)
                    .where(keys.c.subject.in_(eligible), keys.c.wrapped_key.is_not(None))
                    .values(wrapped_key=None, erased_at=now)
                )
                notices = select(d.c.delivery_id).where(d.c.subject.in_(eligible))
                conn.execute(
                    delete(tables.notices).where(tables.notices.c.delivery_id.in_(notices))
                )
                conn.execute(delete(tables.carried).where(tables.carried.c.subject.in_(eligible)))
                conn.execute(delete(d).where(d.c.subject.in_(eligible)))
        return len(eligible)
