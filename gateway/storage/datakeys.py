"""The newcomers' wrapped data keys, as a master key rotation reads and rewrites them (issue #33).

Only ``subject_keys`` is touched, a row per newcomer holding the pseudonym and the
wrapped key: never a sealed body. The rows are walked in pages in subject order (a
keyset, so each page is one indexed range however large the table), and a page's
rewrapped keys are written in one short transaction that does not take the audit counter
lock: intake and reads go on meanwhile. Each row is replaced only where it still holds
the wrapped key that was read (compare and set), so a key crypto-shredded meanwhile
(retention sets it NULL) stays erased, and two rewraps running at once never undo each
other's work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Engine, select, update

from gateway.storage import engine, tables

_K = tables.subject_keys


class DataKeyStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def page(self, after: str, limit: int) -> list[tuple[str, bytes]]:
        """Up to ``limit`` (subject, wrapped key) after ``after`` in subject order; the
        erased newcomers, who have no key, are left out."""
        query = (
            select(_K.c.subject, _K.c.wrapped_key)
            .where(_K.c.subject > after, _K.c.wrapped_key.is_not(None))
            .order_by(_K.c.subject)
            .limit(limit)
        )
        with engine.read(self.engine) as conn:
            return [(row.subject, bytes(row.wrapped_key)) for row in conn.execute(query)]

    def all(self, page: int = 2000) -> Iterator[bytes]:
        """Every wrapped key, a page at a time (to count them by master key)."""
        after = ""
        while rows := self.page(after, page):
            yield from (wrapped for _, wrapped in rows)
            after = rows[-1][0]

    def replace(self, rewrapped: Sequence[tuple[str, bytes, bytes]]) -> int:
        """Write each (subject, old, new): ``new`` where the row still holds ``old``, in one
        transaction without the counter lock; how many rows took their new key."""
        done = 0
        with engine.write(self.engine, lock=False, background=True) as conn:
            for subject, old, new in rewrapped:
                result = conn.execute(
                    update(_K)
                    .where(_K.c.subject == subject, _K.c.wrapped_key == old)
                    .values(wrapped_key=new)
                )
                done += result.rowcount
        return done
