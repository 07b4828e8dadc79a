"""Leases: one process at a time for a background job across all instances.

A row per job name (``leases``): whoever holds it until a time does the job
(asking the witnesses, exporting the logbook); when its holder dies the
lease runs out and another takes it. A lease is never the guard of
correctness, only of waste: each job's own writes stay safe when two run
at once (a witness answers twice; the logbook's cursor moves by
compare-and-set).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError

from gateway.storage import engine, tables

_L = tables.leases


def take(db: Engine, name: str, holder: str, now: datetime, length: timedelta) -> bool:
    """The lease ``name`` for ``holder`` until ``now + length``: taken when free, run out,
    or already this holder's; False while another holds it."""
    until = now + length
    with engine.write(db, lock=False, background=True) as conn:
        taken = conn.execute(
            update(_L)
            .where(_L.c.name == name, or_(_L.c.holder == holder, _L.c.until < now))
            .values(holder=holder, until=until)
        ).rowcount
        if taken:
            return True
        try:
            with conn.begin_nested():
                conn.execute(insert(_L).values(name=name, holder=holder, until=until))
        except IntegrityError:
            return False
        return True


def give_back(db: Engine, name: str, holder: str) -> None:
    with engine.write(db, lock=False, background=True) as conn:
        conn.execute(delete(_L).where(_L.c.name == name, _L.c.holder == holder))
