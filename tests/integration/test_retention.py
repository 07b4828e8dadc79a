"""Retention: crypto-shredding leaves no readable body and a log that still verifies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.audit import merkle
from gateway.errors import Conflict, NotFound
from gateway.service import inbox, intake
from gateway.service.services import Services
from tests.helpers import database_bytes


def _send_profile(
    services: Services,
    cast: demo.Cast,
    person: synthetic.Newcomer,
    rng: random.Random,
    now: datetime,
) -> str:
    payload = demo.profile(person, rng, now)
    token = cast.client(demo.COA).sign(payload).encode()
    assert intake.accept(token, services=services, now=now, trace_id="0" * 32).status == 202
    return str(payload["message_id"])


def test_purge_erases_only_newcomers_whose_deliveries_were_all_acknowledged(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://unused", now)
    leiden = services.store.registry.find_party(demo.LEIDEN)
    assert leiden is not None
    rng = random.Random(5)
    done, open_ = synthetic.Newcomer.make(rng), synthetic.Newcomer.make(rng)
    done_message = _send_profile(services, cast, done, rng, now)
    open_message = _send_profile(services, cast, open_, rng, now)
    page = inbox.pull(services, leiden, 0, 500, now, "0" * 32)
    [delivery] = [d for d in page.deliveries if d["message_id"] == done_message]
    inbox.acknowledge(services, leiden, delivery["delivery_id"], now, "0" * 32)

    entries_before = storage_of(services).audit.entries()
    assert services.store.retention.purge(now + timedelta(seconds=1), now, dry_run=True) == 1
    assert storage_of(services).read_message(done_message)  # a dry run erases nothing
    assert services.store.retention.purge(now - timedelta(days=1), now) == 0  # not yet old enough
    assert services.store.retention.purge(now + timedelta(seconds=1), now) == 1

    with pytest.raises(NotFound):
        storage_of(services).read_message(done_message)
    assert storage_of(services).read_message(open_message)  # open delivery: kept
    assert [
        d["message_id"] for d in inbox.pull(services, leiden, 0, 500, now, "0" * 32).deliveries
    ] == [open_message]
    with pytest.raises(Conflict):  # nothing more is taken in for an erased newcomer
        _send_profile(services, cast, done, rng, now)

    # The log is untouched by the purge (it grew by the pulls and the refusal only).
    entries_after = storage_of(services).audit.entries()
    assert entries_after[: len(entries_before)] == entries_before
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in entries_after]
    assert storage_of(services).audit.root(len(leaves)) == merkle.root_of(leaves)

    # And no plaintext of either newcomer in the database, before or after.
    raw = database_bytes(services)
    assert len(raw) > 10_000  # the scan saw the stored data
    for person in (done, open_):
        assert person.bsn is not None  # the newcomers of this test have one
        for value in (person.family_name, person.bsn, person.v_number, person.birth_date):
            assert value.encode() not in raw
