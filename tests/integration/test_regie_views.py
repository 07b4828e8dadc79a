"""Regie's sealed views against the whole messages, and the migration that brought them.

The signals list reads a small sealed view of each profile, plan and report
(``progress.regie_view``) instead of the messages. A database from before
the views has none: its reports are copied into the reports table by the
migration, and the gateway opens the messages instead. Both must give the
same signals, on both backends.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import select

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.service import intake, regie
from gateway.service.services import Services
from gateway.storage import migrate, tables


def _held(services: Services, count: int, now: datetime) -> None:
    rng = random.Random(61)
    cast = demo.register_cast(services, "http://127.0.0.1", now - timedelta(days=200))
    coa, leiden, provider = (cast.client(p) for p in (demo.COA, demo.LEIDEN, demo.PROVIDER))
    for i in range(count):
        placed = now - timedelta(days=rng.randrange(0, 150), hours=1)
        person = synthetic.Newcomer.make(rng)
        tokens = [coa.sign(demo.profile(person, rng, placed))]
        if i % 3:  # a third has neither plan nor report: the profile names them
            for sender, payload in demo.trajectory(rng, person, placed, 3, consent=bool(i % 2)):
                tokens.append((leiden if sender == demo.LEIDEN else provider).sign(payload))
        outcomes = intake.accept_batch(
            [t.encode() for t in tokens], services=services, now=placed, trace_id="0" * 32
        )
        assert all(isinstance(o, intake.Outcome) for o in outcomes), outcomes


def _everything(services: Services, now: datetime) -> list[dict[str, Any]]:
    party = services.store.registry.find_party(demo.LEIDEN)
    assert party is not None
    listed: list[dict[str, Any]] = []
    after = 0
    for _ in range(100):  # bounded: 7 a page
        page = regie.signals_page(services, party, after, 7, now, "0" * 32)
        listed += page.newcomers
        if len(page.newcomers) < 7:
            return listed
        after = page.next_cursor
    raise AssertionError("the pages did not end")


def test_views_and_whole_messages_give_the_same_signals(services: Services) -> None:
    now = datetime.now(UTC)
    _held(services, 30, now)
    with storage_of(services).engine.connect() as conn:
        assert conn.execute(select(tables.reports.c.regie)).scalars().all()
        assert None not in conn.execute(select(tables.placements.c.regie)).scalars().all()
    from_views = _everything(services, now)
    assert len(from_views) == 30
    assert {s["code"] for row in from_views for s in row["signals"]} >= {"no-progress"}
    assert any(row["unknown_signals"] for row in from_views)
    assert any(not row["unknown_signals"] for row in from_views)

    config = migrate._config()  # as before the views: no reports table, no sealed views
    with storage_of(services).engine.connect().execution_options(gateway_write=True) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
        command.upgrade(config, "head")
        conn.commit()
    with storage_of(services).engine.connect() as conn:
        assert set(conn.execute(select(tables.reports.c.regie)).scalars()) == {None}
        assert len(conn.execute(select(tables.reports)).all()) == 20 * 3
    assert _everything(services, now) == from_views
