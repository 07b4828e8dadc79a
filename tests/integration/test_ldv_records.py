"""LDV records of real processings, and the processing refused while none can be written.

The ``services`` fixture builds from the environment, where the logbook is on
by default (``ldv.jsonl`` in the instance folder). No exporter thread runs
here (the services serve nothing): ``_records`` flushes the logbook first, as
the serving process's thread would within its period. /dev/full stands for a
full disk: it opens, and every write fails with ENOSPC, for root too. Each
record is held to the audit entry it stands for: one per entry of the
transaction that names a newcomer, the same trace and span ids and
pseudonym, in the same order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.audit.events import new_trace_id
from gateway.domain.parties import Party
from gateway.errors import LogbookUnwritable, ServiceUnavailable
from gateway.ldv.logbook import JsonLinesExporter, Logbook
from gateway.ldv.records import SUBJECT_ID_TYPE
from gateway.service import auditing, inbox, intake, regie
from gateway.service.ldvexport import LogbookExport
from gateway.service.logbook import Guarded
from gateway.service.services import Services
from tests.helpers import profile_payload

TRACE = "0193b6a0c8f27d3e8a1b2c3d4e5f6071"
REGISTER = "urn:inburgering-gateway:verwerkingsactiviteit:"
"""GATEWAY_LDV_ACTIVITY_BASE's default, under which the policy's relative activities go"""


def _export(services: Services) -> LogbookExport:
    assert services.logbook is not None and isinstance(services.store, Guarded)
    return services.logbook


def _logbook(services: Services) -> Logbook:
    logbook = _export(services).logbook
    assert isinstance(logbook, Logbook)
    return logbook


def _records(services: Services) -> list[dict[str, object]]:
    path = services.settings.ldv_path
    assert path is not None
    _export(services).flush()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


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


def test_a_logbook_that_cannot_write_holds_the_records_and_refuses_writes_past_the_grace(
    services: Services,
) -> None:
    """The message is stored with its audit entry (the record's durable copy); the export
    fails and says why; past the grace the guard refuses, in words; once the logbook takes
    writes again the record is written, once, and the guard lets writes through."""
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    _records(services)
    rng = random.Random(4)
    token = cast.client(demo.COA).sign(profile_payload(rng, now)[0]).encode()
    logbook = _logbook(services)
    writable = logbook.exporter
    logbook.exporter = JsonLinesExporter(Path("/dev/full"))
    assert intake.accept(token, services=services, now=now, trace_id=TRACE).status == 202
    with pytest.raises(LogbookUnwritable):
        _export(services).flush()
    strict = LogbookExport(storage_of(services).ldv, logbook, grace=timedelta(0))
    with pytest.raises(ServiceUnavailable, match=r"Logboek.*disk full") as refused:
        strict.guard()
    assert refused.value.status == 503
    logbook.exporter = writable
    accepted = [r for r in _records(services) if r["name"] == "message.accepted"]
    assert len(accepted) == 1 and accepted[0]["trace_id"] == TRACE
    LogbookExport(storage_of(services).ldv, logbook, grace=timedelta(0)).guard()  # passes


def _sender(services: Services) -> Callable[[], None]:
    """Registers the cast; sends a new profile each call."""
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    rng = random.Random(5)

    def send() -> None:
        token = cast.client(demo.COA).sign(profile_payload(rng, now)[0]).encode()
        assert intake.accept(token, services=services, now=now, trace_id=TRACE).status == 202

    return send


def test_an_exporter_killed_after_its_write_is_resumed_without_writing_twice(
    services: Services,
) -> None:
    """A batch written but its cursor not moved (the holder killed between the two) is
    found at the file's end by the next holder, which goes on after it."""
    send = _sender(services)
    send()
    store = storage_of(services)
    work = store.ldv.pending(10_000)
    assert work.entries
    _logbook(services).write(work.entries)  # written, never marked
    successor = LogbookExport(store.ldv, _logbook(services), grace=timedelta(seconds=10))
    assert successor.flush() == 0
    spans = [r["span_id"] for r in _records(services)]
    assert len(spans) == len(set(spans)) == len(work.entries)


def test_one_exporter_at_a_time_holds_the_lease(services: Services) -> None:
    store = storage_of(services)
    first = LogbookExport(store.ldv, _logbook(services), grace=timedelta(seconds=10))
    second = LogbookExport(store.ldv, _logbook(services), grace=timedelta(seconds=10))
    send = _sender(services)
    send()
    assert first.flush() > 0
    send()
    assert second.flush() == 0 and store.ldv.pending(10).entries  # the first's lease holds
    assert first.flush() > 0 and not store.ldv.pending(10).entries


def test_a_holder_that_cannot_write_lets_another_instance_take_over(services: Services) -> None:
    """Each PostgreSQL instance writes a logbook of its own: one whose disk is full gives
    the lease back at once, so one that can write takes over (it held it for good before)."""
    store, logbook = storage_of(services), _logbook(services)
    full = Logbook(JsonLinesExporter(Path("/dev/full")), logbook.activities)
    broken = LogbookExport(store.ldv, full, grace=timedelta(seconds=10))
    healthy = LogbookExport(store.ldv, logbook, grace=timedelta(seconds=10))
    _sender(services)()
    assert broken.tick(force=True) == 0 and store.ldv.pending(1000).entries
    assert healthy.tick(force=True) > 0 and not store.ldv.pending(1000).entries


@dataclass
class Placed:
    """Two newcomers placed with Leiden by the COA, and Leiden to read or be told."""

    services: Services
    cast: demo.Cast
    people: list[synthetic.Newcomer]
    leiden: Party
    now: datetime

    def subject(self, person: synthetic.Newcomer) -> str:
        return self.services.pseudonym(person.v_number)


@pytest.fixture
def placed(services: Services) -> Placed:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    rng = random.Random(41)
    people = [synthetic.Newcomer.make(rng) for _ in range(2)]
    for person in people:
        token = cast.client(demo.COA).sign(demo.profile(person, rng, now)).encode()
        outcome = intake.accept(token, services=services, now=now, trace_id=new_trace_id())
        assert outcome.status == 202
    leiden = services.store.registry.find_party(demo.LEIDEN)
    assert leiden is not None
    return Placed(services, cast, people, leiden, now)


def _mark(services: Services) -> tuple[int, int]:
    """Where the audit log and the logbook stand: the start of the next transaction."""
    return storage_of(services).count("audit_entries"), len(_records(services))


def _transaction(services: Services, mark: tuple[int, int], trace: str) -> list[dict[str, Any]]:
    """The records written since ``mark``, each held to the audit entry it stands for."""
    entries = [found["entry"] for found in storage_of(services).audit.entries(mark[0])]
    named = [entry for entry in entries if entry["subject"] is not None]
    records = _records(services)[mark[1] :]
    assert named and len(records) == len(named), (records, entries)
    activities = _logbook(services).activities
    for entry, record in zip(named, records, strict=True):
        attributes = record["attributes"]
        assert isinstance(attributes, dict)
        assert record["name"] == attributes["inburgering.event"] == entry["event"]
        assert record["trace_id"] == entry["trace_id"] == trace
        assert attributes["dpl.core.data_subject_id"] == entry["subject"]
        assert attributes["dpl.core.data_subject_id_type"] == SUBJECT_ID_TYPE
        uri = activities.uri(entry["processing_activity"])
        assert attributes["dpl.core.processing_activity_id"] == uri
    return [dict(record) for record in records]


def _of(record: dict[str, Any], name: str) -> Any:
    attributes = record["attributes"]
    assert isinstance(attributes, dict)
    return attributes[name]


def _no_identifiers(world: Placed) -> None:
    path = world.services.settings.ldv_path
    assert path is not None
    text = path.read_text()
    for person in world.people:
        assert world.subject(person) in text
        assert person.v_number not in text
        assert person.bsn is None or person.bsn not in text


def _consent(world: Placed, type_: str, body: dict[str, Any], trace: str) -> int:
    payload = synthetic.payload(type_, body, sender=demo.LEIDEN, recipient=demo.LEIDEN,
                                newcomer=world.people[0], issued_at=world.now)  # fmt: skip
    token = world.cast.client(demo.LEIDEN).sign(payload).encode()
    return intake.accept(token, services=world.services, now=world.now, trace_id=trace).status


def test_a_withdrawal_notice_delivered_after_a_pull_is_recorded(placed: Placed) -> None:
    services, now = placed.services, placed.now
    since = now - timedelta(hours=1)
    body = synthetic.consent_declaration(demo.LEIDEN, [demo.COA], ["education", "health"],
                                         since, explicit_health=True)  # fmt: skip
    assert _consent(placed, "consent-declaration", body, new_trace_id()) == 202
    assert inbox.pull(services, placed.leiden, 0, 10, now, new_trace_id()).deliveries
    mark, trace = _mark(services), new_trace_id()
    withdrawal = {"declaration_id": body["declaration_id"], "withdrawn_at": synthetic.utc(now),
                  "by": "data-subject"}  # fmt: skip
    assert _consent(placed, "consent-withdrawal", withdrawal, trace) == 202
    records = _transaction(services, mark, trace)
    names = [record["name"] for record in records]
    assert names == ["message.accepted", "consent.withdrawn", "notice.delivered"]
    notice = records[-1]
    assert _of(notice, "dpl.core.processing_activity_id") == REGISTER + "toestemming"
    assert _of(notice, "dpl.core.data_subject_id") == placed.subject(placed.people[0])
    _no_identifiers(placed)


def test_regie_reads_leave_a_record_per_newcomer_read(placed: Placed) -> None:
    services, now, leiden = placed.services, placed.now, placed.leiden
    mark, trace = _mark(services), new_trace_id()
    regie.progress(services, leiden, placed.people[1].v_number, now, trace)
    records = _transaction(services, mark, trace)
    assert [record["name"] for record in records] == ["regie.read"]
    assert _of(records[0], "dpl.core.data_subject_id") == placed.subject(placed.people[1])
    assert _of(records[0], "dpl.core.processing_activity_id") == REGISTER + "regie"
    mark, trace = _mark(services), new_trace_id()
    assert len(regie.signals_page(services, leiden, 0, 10, now, trace).newcomers) == 2
    records = _transaction(services, mark, trace)
    assert [record["name"] for record in records] == ["regie.read", "regie.read"]
    subjects = [_of(record, "dpl.core.data_subject_id") for record in records]
    assert subjects == [placed.subject(person) for person in placed.people]
    assert {_of(r, "dpl.core.processing_activity_id") for r in records} == {REGISTER + "regie"}
    _no_identifiers(placed)


def test_a_subject_access_is_recorded_as_its_own_activity(placed: Placed) -> None:
    services, person = placed.services, placed.people[0]
    mark, trace = _mark(services), new_trace_id()
    copy = auditing.own_copy(services, placed.leiden, person.v_number, "nl", placed.now, trace)
    assert person.v_number in copy["report"]  # the newcomer's copy names them; the logbook not
    records = _transaction(services, mark, trace)
    assert [record["name"] for record in records] == ["audit.read"]
    assert _of(records[0], "dpl.core.data_subject_id") == placed.subject(person)
    assert _of(records[0], "dpl.core.processing_activity_id") == REGISTER + "inzage-betrokkene"
    assert _of(records[0], "inburgering.outcome") == "ok"
    _no_identifiers(placed)
