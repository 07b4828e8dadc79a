"""The LDV records: the draft's fields, the activity's URI, the pseudonym, fail closed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.domain import vocabulary
from gateway.domain.audit import transaction
from gateway.domain.audit.events import Event, canonical_entry, entry, pseudonym
from gateway.errors import BadRequest, LogbookUnwritable, ServiceUnavailable
from gateway.files import schemas as schema_files
from gateway.ldv.logbook import JsonLinesExporter, Logbook
from gateway.ldv.records import Activities
from gateway.service import auditing

NOW = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)
V_NUMBER = "1234567890"
SUBJECT = pseudonym(b"k" * 32, V_NUMBER)
TRACE = "0193b6a0c8f27d3e8a1b2c3d4e5f6071"


def _event(outcome: str = "ok", subject: str | None = SUBJECT) -> Event:
    activity = "inburgering/overdracht-coa"
    return Event("message.accepted", "00000001003214345000", outcome, TRACE, activity,
                 subject=subject, type="handover-profile")  # fmt: skip


def _entries(*made: Event) -> list[tuple[int, bytes]]:
    """The stored bytes of audit entries at 7, 8, …, as the log keeps them."""
    return [(7 + n, canonical_entry(entry(7 + n, NOW, event))) for n, event in enumerate(made)]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_record_holds_the_draft_fields_the_activity_uri_and_the_pseudonym(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ldv.jsonl"
    activities = Activities("https://register.example/va/", {"inburgering/overdracht-coa": "coa"})
    written = _entries(_event(), _event("refused"))
    Logbook(JsonLinesExporter(path), activities).write(written)
    first, second = _lines(path)
    stored = json.loads(written[0][1])
    assert first["trace_id"] == TRACE and first["span_id"] == stored["span_id"]
    assert first["name"] == "message.accepted" and first["parent_span_id"] is None
    assert first["start_time"] == first["end_time"] == int(NOW.timestamp() * 1000)
    assert first["status_code"] == "STATUS_CODE_OK"
    assert second["status_code"] == "STATUS_CODE_UNSET"
    attributes = first["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["dpl.core.processing_activity_id"] == "https://register.example/va/coa"
    assert attributes["dpl.core.data_subject_id"] == SUBJECT
    assert attributes["inburgering.audit_index"] == 7
    assert "pseudoniem" in attributes["dpl.core.data_subject_id_type"]
    assert V_NUMBER not in path.read_text()


def test_the_last_record_names_its_entry_and_a_torn_line_names_none(tmp_path: Path) -> None:
    path = tmp_path / "ldv.jsonl"
    logbook = Logbook(JsonLinesExporter(path), Activities())
    assert logbook.last() is None  # no file yet
    written = _entries(_event(), _event())
    logbook.write(written)
    assert logbook.last() == (8, json.loads(written[1][1])["span_id"])
    with path.open("ab") as file:
        file.write(b'{"trace_id": "0193')  # a write torn by a crash
    assert logbook.last() is None
    logbook.write(_entries(_event()))  # on a line of its own, after the torn one
    lines = path.read_bytes().splitlines()
    assert lines[-2] == b'{"trace_id": "0193' and json.loads(lines[-1])["trace_id"] == TRACE
    assert logbook.last() is not None


def test_an_activity_uri_is_absolute_relative_to_the_base_or_the_name_itself() -> None:
    activities = Activities("urn:x:", {"a/b": "https://r.example/1", "c/d": "cd"})
    assert activities.uri("a/b") == "https://r.example/1"
    assert activities.uri("c/d") == "urn:x:cd"
    assert activities.uri("e/f") == "urn:x:e/f"


@pytest.mark.parametrize("target", ["/dev/full", "not-a-directory/ldv.jsonl"])
def test_an_exporter_that_cannot_write_raises_unavailable_with_its_cause(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "not-a-directory").write_text("a file")
    path = Path(target) if target.startswith("/") else tmp_path / target
    logbook = Logbook(JsonLinesExporter(path), Activities())
    with pytest.raises(ServiceUnavailable) as refused:
        logbook.write(_entries(_event()))
    assert isinstance(refused.value, LogbookUnwritable)
    assert refused.value.cause == ("disk full" if target == "/dev/full" else "error")
    logbook.exporter = JsonLinesExporter(tmp_path / "ldv.jsonl")  # writable again
    logbook.write(_entries(_event()))
    assert len(_lines(tmp_path / "ldv.jsonl")) == 1


def test_the_fsc_transaction_id_must_be_a_uuid7_and_becomes_the_trace_id() -> None:
    value = "0193B6A0-C8F2-7D3E-8A1B-2C3D4E5F6071"
    assert transaction.parse(value) == value.lower()
    assert transaction.trace_id(value.lower()) == TRACE
    assert transaction.parse(None) is None and transaction.parse("") is None
    for bad in ("0193b6a0-c8f2-4d3e-8a1b-2c3d4e5f6071", "not-a-uuid", TRACE):
        with pytest.raises(BadRequest):
            transaction.parse(bad)


def test_a_new_transaction_id_is_a_uuid7_of_its_millisecond() -> None:
    made = transaction.new(NOW)
    assert transaction.parse(made) == made
    assert uuid.UUID(made).version == 7
    assert int(made.replace("-", "")[:12], 16) == int(NOW.timestamp() * 1000)
    assert transaction.new(NOW) != made


def test_the_register_names_every_processing_activity_the_gateway_enters() -> None:
    """An activity missing from the policy's register falls back to its bare name under
    the base: a record the operator's register of processing activities cannot place."""
    used = {kind.activity for kind in vocabulary.TYPES.values()} | {
        vocabulary.INTAKE, vocabulary.ADMINISTRATION, vocabulary.RECEIPT,
        vocabulary.ACCOUNTABILITY, vocabulary.ACCESS, vocabulary.REGIE, vocabulary.BRIEFING,
        auditing.SUBJECT_ACCESS,
    }  # fmt: skip
    assert used - set(schema_files.processing_activities()) == set()
