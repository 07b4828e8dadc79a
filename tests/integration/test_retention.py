"""Retention: crypto-shredding leaves no readable body and a log that still verifies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import db, demo, inbox, merkle, pipeline, synthetic
from gateway.errors import Conflict, NotFound
from gateway.pipeline import Services


def _send_profile(
    services: Services,
    cast: demo.Cast,
    person: synthetic.Newcomer,
    rng: random.Random,
    now: datetime,
) -> str:
    payload = synthetic.payload(
        "handover-profile",
        synthetic.handover_profile(person, "GM0546", rng),
        sender=demo.COA,
        recipient=demo.LEIDEN,
        newcomer=person,
        issued_at=now,
    )
    token = cast.client(demo.COA).sign(payload).encode()
    assert pipeline.accept(token, services=services, now=now, trace_id="0" * 32).status == 202
    return str(payload["message_id"])


def _database_bytes(services: Services, files: list[Path]) -> bytes:
    """Everything the database holds: SQLite's files, or every PostgreSQL value as stored."""
    if services.settings.is_sqlite:
        services.store.engine.dispose()
        return b"".join(p.read_bytes() for p in files if p.exists())
    chunks: list[bytes] = []
    with services.store.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    is_bytes = isinstance(value, bytes | memoryview)
                    chunks.append(bytes(value) if is_bytes else str(value).encode())
    return b"".join(chunks)


def test_purge_erases_only_newcomers_whose_deliveries_were_all_acknowledged(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    cast = demo.register_cast(services.store, "http://unused", now)
    leiden = services.store.find_party(demo.LEIDEN)
    assert leiden is not None
    rng = random.Random(5)
    done, open_ = synthetic.Newcomer.make(rng), synthetic.Newcomer.make(rng)
    done_message = _send_profile(services, cast, done, rng, now)
    open_message = _send_profile(services, cast, open_, rng, now)
    page = inbox.pull(services, leiden, 0, 500, now, "0" * 32)
    [delivery] = [d for d in page.deliveries if d["message_id"] == done_message]
    inbox.acknowledge(services, leiden, delivery["delivery_id"], now, "0" * 32)

    entries_before = services.store.audit_entries()
    files = sorted(services.settings.instance.glob("gateway.db*"))
    assert services.store.purge(now + timedelta(seconds=1), now, dry_run=True) == 1
    assert services.store.read_message(done_message)  # a dry run erases nothing
    assert services.store.purge(now - timedelta(days=1), now) == 0  # not yet old enough
    assert services.store.purge(now + timedelta(seconds=1), now) == 1

    with pytest.raises(NotFound):
        services.store.read_message(done_message)
    assert services.store.read_message(open_message)  # open delivery: kept
    assert [
        d["message_id"] for d in inbox.pull(services, leiden, 0, 500, now, "0" * 32).deliveries
    ] == [open_message]
    with pytest.raises(Conflict):  # nothing more is taken in for an erased newcomer
        _send_profile(services, cast, done, rng, now)

    # The log is untouched by the purge (it grew by the pulls and the refusal only).
    entries_after = services.store.audit_entries()
    assert entries_after[: len(entries_before)] == entries_before
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in entries_after]
    assert services.auditlog.root(len(leaves)) == merkle.root_of(leaves)

    # And no plaintext of either newcomer in the database, before or after.
    raw = _database_bytes(services, files)
    assert len(raw) > 10_000  # the scan saw the stored data
    for person in (done, open_):
        for value in (person.family_name, person.bsn, person.v_number, person.birth_date):
            assert value.encode() not in raw
