"""LDV records of real processings, and the processing refused while none can be written.

The ``services`` fixture builds from the environment, where the logbook is on
by default (``ldv.jsonl`` in the instance folder). /dev/full stands for a full
disk: it opens, and every write fails with ENOSPC, for root too.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.errors import ServiceUnavailable
from gateway.ldv.logbook import JsonLinesExporter, Logbook
from gateway.service import inbox, intake
from gateway.service.logbook import Recorded
from gateway.service.services import Services
from tests.helpers import profile_payload

TRACE = "0193b6a0c8f27d3e8a1b2c3d4e5f6071"


def _logbook(services: Services) -> Logbook:
    store = services.store
    assert isinstance(store, Recorded) and isinstance(store.log, Logbook)
    return store.log


def _records(services: Services) -> list[dict[str, object]]:
    path = services.settings.ldv_path
    assert path is not None
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_accept_pull_and_ack_each_leave_a_record_with_the_trace_and_pseudonym(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    payload, person = profile_payload(random.Random(3), now)
    token = cast.client(demo.COA).sign(payload).encode()
    assert intake.accept(token, services=services, now=now, trace_id=TRACE).status == 202
    leiden = services.store.registry.find_party(demo.LEIDEN)
    assert leiden is not None
    page = inbox.pull(services, leiden, 0, 10, now, TRACE)
    inbox.acknowledge(services, leiden, page.deliveries[0]["delivery_id"], now, TRACE)
    records = _records(services)
    names = [r["name"] for r in records]
    assert names == ["message.accepted", "delivery.pulled", "delivery.acknowledged"]
    subject = services.pseudonym(person.v_number)
    for record in records:
        attributes = record["attributes"]
        assert isinstance(attributes, dict) and record["trace_id"] == TRACE
        assert attributes["dpl.core.data_subject_id"] == subject
        assert str(attributes["dpl.core.processing_activity_id"]).startswith("urn:")
    text = services.settings.ldv_path.read_text() if services.settings.ldv_path else ""
    assert person.v_number not in text


def test_a_logbook_that_cannot_write_refuses_the_message_and_stores_nothing(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    rng = random.Random(4)
    store = storage_of(services)

    def send() -> int:
        token = cast.client(demo.COA).sign(profile_payload(rng, now)[0]).encode()
        return intake.accept(token, services=services, now=now, trace_id=TRACE).status

    before = (store.count("audit_entries"), store.count("messages"))
    logbook = _logbook(services)
    writable = logbook.exporter
    logbook.exporter = JsonLinesExporter(Path("/dev/full"))
    with pytest.raises(ServiceUnavailable):
        send()
    assert (store.count("audit_entries"), store.count("messages")) == before
    logbook.exporter = writable
    assert send() == 202
    assert store.count("messages") == before[1] + 1
