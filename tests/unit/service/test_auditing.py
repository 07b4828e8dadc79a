"""Reading the audit log as use cases over the fake log: checkpoints, entries, the export,
proofs that verify, a newcomer's trail, and the reads recorded in the log they read.

Each read is an ``audit.read`` entry naming the reader, what was read and, for a
newcomer's trail, their pseudonym: never the V-nummer or the BSN. The proofs are
checked with the verifier's own functions against roots computed from the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.domain import report
from gateway.domain.audit import checkpoints, merkle
from gateway.domain.audit.events import format_time
from gateway.domain.parties import Party
from gateway.domain.schemas import Catalog
from gateway.domain.vocabulary import ACCOUNTABILITY
from gateway.errors import BadRequest, NotAuthorised, ProofError
from gateway.service import auditing
from gateway.service.checkpointer import CheckpointSigner
from gateway.service.services import Services
from tests.unit.service.fakes import (
    AUDITOR,
    BSN_ANNA,
    COA,
    LEIDEN,
    NOW,
    ORIGIN,
    PROVIDER,
    TRACE,
    UTRECHT,
    V_ANNA,
    V_BORIS,
    FakeAuditLog,
    FakeStore,
    FakeTip,
    event,
    fake_store,
    make_services,
    make_signer,
    stored,
)

HELD = 5
"""entries in the log before each test reads it: three about Anna, one about Boris, one
about no one"""


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    built = make_services(catalog, tmp_path)
    anna, boris = built.pseudonym(V_ANNA), built.pseudonym(V_BORIS)
    fake_store(built).audit.append(
        [event(anna), event(anna), event(boris), event(None, "party.registered"), event(anna)],
        NOW - timedelta(hours=1),
    )
    return built


def _log(services: Services) -> FakeAuditLog:
    return fake_store(services).audit


def _reads(services: Services) -> list[dict[str, Any]]:
    """The ``audit.read`` entries, as (reason, actor, subject, activity) dicts."""
    return [
        {k: e[k] for k in ("index", "reason", "actor", "subject", "processing_activity")}
        for e in _log(services).entries()
        if e["event"] == "audit.read"
    ]


def _read(services: Services, reason: str, subject: str | None = None) -> dict[str, Any]:
    """The one read a test expects, at the end of the held log."""
    return {
        "index": HELD,
        "reason": reason,
        "actor": AUDITOR.oin,
        "subject": subject,
        "processing_activity": ACCOUNTABILITY,
    }


def _no_personal_data_recorded(services: Services) -> None:
    raw = b"".join(row.data for row in _log(services).rows)
    for value in (V_ANNA, V_BORIS, BSN_ANNA):
        assert value.encode() not in raw


# -- checkpoints


def test_a_checkpoint_read_is_entered_first_and_the_checkpoint_covers_it(
    services: Services,
) -> None:
    made = auditing.checkpoint(services, AUDITOR, NOW, TRACE)
    assert _reads(services) == [_read(services, "checkpoint")]
    log = _log(services)
    assert made.tree_size == HELD + 1 == len(log.rows)
    assert made.root_hash == merkle.root_of(log.leaves()).hex()
    signer = services.signer
    assert checkpoints.verify_jws(made.jws, {signer.kid: signer.key}).tree_size == HELD + 1
    assert checkpoints.verify_note(made.note, ORIGIN, signer.key).root_hash == made.root_hash
    assert made.created_at == NOW


def test_each_checkpoint_read_grows_the_log_and_so_signs_anew(services: Services) -> None:
    first = auditing.checkpoint(services, AUDITOR, NOW, TRACE)
    second = auditing.checkpoint(services, LEIDEN, NOW, TRACE)
    assert (first.seq, first.tree_size) == (1, HELD + 1)
    assert (second.seq, second.tree_size) == (2, HELD + 2)
    assert [r["actor"] for r in _reads(services)] == [AUDITOR.oin, LEIDEN.oin]


def test_a_checkpoint_of_an_empty_log_is_of_the_read_alone(
    catalog: Catalog, tmp_path: Path
) -> None:
    empty = make_services(catalog, tmp_path)
    made = auditing.checkpoint(empty, AUDITOR, NOW, TRACE)
    assert made.tree_size == 1
    assert made.root_hash == merkle.leaf_hash(fake_store(empty).audit.rows[0].data).hex()


class RacedLog(FakeAuditLog):
    """Another process signs under the lock just before this one gets it."""

    def __init__(self) -> None:
        super().__init__()
        self.other: CheckpointSigner | None = None

    @contextmanager
    def checkpointing(self) -> Iterator[FakeTip]:
        other, self.other = self.other, None
        if other is not None:
            other.sign(NOW)
        with super().checkpointing() as tip:
            yield tip


def test_a_checkpoint_another_process_signed_first_is_the_answer(
    catalog: Catalog, tmp_path: Path
) -> None:
    store = FakeStore()
    log = store.audit = RacedLog()
    raced = make_services(catalog, tmp_path, store)
    log.append([event()], NOW)
    log.other = CheckpointSigner(log, make_signer(), ORIGIN)
    made = auditing.checkpoint(raced, AUDITOR, NOW, TRACE)
    assert log.saved == [made]  # ours had nothing left to sign: the latest is the answer
    assert made.tree_size == 2  # and it covers the read all the same
    assert log.calls[-1] == "latest"


def test_the_checkpoint_list_is_a_page_after_a_sequence_number(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _log(services)
    for _ in range(4):
        log.append([event()], NOW)
        services.checkpoints.sign(NOW)
    monkeypatch.setattr(auditing, "PAGE", 2)
    found = auditing.checkpoint_list(services, AUDITOR, 1, NOW, TRACE)
    assert [c.seq for c in found] == [2, 3]
    assert [c.tree_size for c in found] == [HELD + 2, HELD + 3]
    assert _reads(services)[0]["reason"] == "checkpoints:after:1"
    assert auditing.checkpoint_list(services, AUDITOR, 4, NOW, TRACE) == []
    assert [r["reason"] for r in _reads(services)] == ["checkpoints:after:1", "checkpoints:after:4"]


# -- entries and the export


def test_entries_are_the_stored_bytes_with_their_leaf_hashes_and_the_read_follows(
    services: Services,
) -> None:
    found = auditing.entries(services, AUDITOR, 1, 4, NOW, TRACE)
    assert [i for i, _, _ in found] == [1, 2, 3]
    for index, data, leaf in found:
        assert data == _log(services).rows[index].data
        assert leaf == hashlib.sha256(b"\x00" + data).hexdigest()
    assert _reads(services) == [_read(services, "entries:1-4")]
    beyond = auditing.entries(services, AUDITOR, HELD, HELD + 10, NOW, TRACE)
    assert [i for i, _, _ in beyond] == [HELD]  # the read of the first call, nothing more


def test_the_export_enters_its_read_at_once_and_reads_chunks_as_they_stream(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auditing, "EXPORT_CHUNK", 2)
    log = _log(services)
    chunks = auditing.export(services, AUDITOR, 0, HELD, NOW, TRACE)
    assert _reads(services) == [_read(services, f"export:0-{HELD}")]
    assert "entries_raw" not in log.calls  # nothing read before the response streams
    first = next(chunks)
    assert [i for i, _, _ in first] == [0, 1] and log.calls.count("entries_raw") == 1
    assert [[i for i, _, _ in chunk] for chunk in chunks] == [[2, 3], [4]]
    assert log.calls.count("entries_raw") == 3  # a read of its own per chunk


def test_an_export_past_the_end_holds_its_own_read(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auditing, "EXPORT_CHUNK", 4)
    exported = [i for chunk in auditing.export(services, AUDITOR, 2, 10, NOW, TRACE)
                for i, _, _ in chunk]  # fmt: skip
    assert exported == [2, 3, 4, HELD]  # HELD: the export's own audit.read


def test_an_empty_range_exports_no_chunk_but_is_entered(services: Services) -> None:
    assert list(auditing.export(services, AUDITOR, 3, 3, NOW, TRACE)) == []
    assert _reads(services) == [_read(services, "export:3-3")]


# -- proofs


def test_every_inclusion_proof_verifies_against_the_root_of_its_size(services: Services) -> None:
    log = _log(services)
    leaves = log.leaves()
    for size in range(1, HELD + 1):
        for index in range(size):
            path = auditing.inclusion(services, AUDITOR, index, size, NOW, TRACE)
            merkle.verify_inclusion(index, size, leaves[index], path, merkle.root_of(leaves[:size]))
    reasons = [r["reason"] for r in _reads(services)]
    assert reasons[0] == "inclusion:0@1" and reasons[-1] == f"inclusion:{HELD - 1}@{HELD}"
    assert len(reasons) == HELD * (HELD + 1) // 2


def test_an_inclusion_proof_of_another_leaf_does_not_verify(services: Services) -> None:
    leaves = _log(services).leaves()
    path = auditing.inclusion(services, AUDITOR, 1, HELD, NOW, TRACE)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(2, HELD, leaves[2], path, merkle.root_of(leaves[:HELD]))


@pytest.mark.parametrize(
    ("index", "size", "refused"),
    [
        (HELD, HELD, ProofError),  # index not below the size
        (-1, HELD, ProofError),
        (0, 0, ProofError),
        (0, HELD + 1, BadRequest),  # beyond the log
    ],
)
def test_an_inclusion_proof_out_of_range_is_refused_and_not_entered(
    services: Services, index: int, size: int, refused: type[Exception]
) -> None:
    with pytest.raises(refused):
        auditing.inclusion(services, AUDITOR, index, size, NOW, TRACE)
    assert _reads(services) == []


def test_every_consistency_proof_verifies_between_the_roots(services: Services) -> None:
    leaves = _log(services).leaves()
    for second in range(1, HELD + 1):
        for first in range(1, second + 1):
            path = auditing.consistency(services, AUDITOR, first, second, NOW, TRACE)
            roots = merkle.root_of(leaves[:first]), merkle.root_of(leaves[:second])
            merkle.verify_consistency(first, second, *roots, path)
    assert _reads(services)[0]["reason"] == "consistency:1-1"
    assert _reads(services)[-1]["reason"] == f"consistency:{HELD}-{HELD}"


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [(0, HELD, ProofError), (3, 2, ProofError), (1, HELD + 1, BadRequest)],
)
def test_a_consistency_proof_out_of_range_is_refused_and_not_entered(
    services: Services, first: int, second: int, refused: type[Exception]
) -> None:
    with pytest.raises(refused):
        auditing.consistency(services, AUDITOR, first, second, NOW, TRACE)
    assert _reads(services) == []


# -- a newcomer's trail


def test_a_subject_read_gives_their_entries_and_is_entered_under_their_pseudonym(
    services: Services,
) -> None:
    anna = services.pseudonym(V_ANNA)
    pseudonym, found = auditing.subject_entries(services, AUDITOR, V_ANNA, NOW, TRACE)
    assert pseudonym == anna
    assert [e["index"] for e in found] == [0, 1, 4]
    assert all(e["entry"]["subject"] == anna for e in found)
    assert _reads(services) == [_read(services, "subject-access", anna)]
    _, again = auditing.subject_entries(services, AUDITOR, V_ANNA, NOW, TRACE)
    assert [e["index"] for e in again] == [0, 1, 4, HELD]  # the auditor's read is in her trail
    _no_personal_data_recorded(services)


@pytest.mark.parametrize("v_number", ["V000000001", "123", "12345678901"])
def test_a_subject_read_with_a_bad_v_number_is_refused_and_not_entered(
    services: Services, v_number: str
) -> None:
    with pytest.raises(BadRequest):
        auditing.subject_entries(services, AUDITOR, v_number, NOW, TRACE)
    assert "subject_entries" not in _log(services).calls
    assert _reads(services) == []


def test_the_operators_access_report_covers_the_newcomers_entries(services: Services) -> None:
    html, count = auditing.access_report(services, V_ANNA, NOW, "en")
    assert count == 3
    assert V_ANNA in html  # the newcomer's own copy names them
    assert V_BORIS not in html
    assert 'lang="en"' in html


@pytest.mark.parametrize("language", ["de", "", "NL"])
def test_a_report_in_a_language_not_offered_is_refused(services: Services, language: str) -> None:
    with pytest.raises(BadRequest):
        auditing.access_report(services, V_ANNA, NOW, language)
    stored(services, V_ANNA, placed_with=LEIDEN)
    with pytest.raises(BadRequest):
        auditing.own_copy(services, LEIDEN, V_ANNA, language, NOW, TRACE)
    assert "subject_entries" not in _log(services).calls
    assert _reads(services) == []


@pytest.mark.parametrize("language", report.LANGUAGES)
def test_the_own_copy_is_the_trail_and_the_report_for_the_placing_municipality(
    services: Services, language: str
) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN)
    anna = services.pseudonym(V_ANNA)
    before = _log(services).subject_entries(anna)
    copy = auditing.own_copy(services, LEIDEN, V_ANNA, language, NOW, TRACE)
    assert copy["subject"] == anna
    assert copy["entries"] == before  # as the auditors' subject read gives them
    assert V_ANNA in copy["report"] and f'lang="{language}"' in copy["report"]
    assert ('dir="rtl"' in copy["report"]) == (language == "ar")
    assert _reads(services) == [
        {
            "index": HELD,
            "reason": auditing.SUBJECT_ACCESS,
            "actor": LEIDEN.oin,
            "subject": anna,
            "processing_activity": auditing.SUBJECT_ACCESS,
        }
    ]
    _no_personal_data_recorded(services)


@pytest.mark.parametrize("where", ["elsewhere", "nowhere"])
def test_the_own_copy_of_a_newcomer_not_placed_with_the_caller_is_refused(
    services: Services, where: str
) -> None:
    if where == "elsewhere":
        stored(services, V_ANNA, placed_with=UTRECHT)
    with pytest.raises(NotAuthorised):
        auditing.own_copy(services, LEIDEN, V_ANNA, "nl", NOW, TRACE)
    assert "subject_entries" not in _log(services).calls  # their trail was not read
    assert _reads(services) == []


def test_no_read_of_any_kind_records_a_v_number_or_bsn(services: Services) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN, bsn=BSN_ANNA)
    auditing.checkpoint(services, AUDITOR, NOW, TRACE)
    auditing.checkpoint_list(services, AUDITOR, 0, NOW, TRACE)
    auditing.entries(services, AUDITOR, 0, 3, NOW, TRACE)
    list(auditing.export(services, AUDITOR, 0, 3, NOW, TRACE))
    auditing.inclusion(services, AUDITOR, 0, 3, NOW, TRACE)
    auditing.consistency(services, AUDITOR, 1, 3, NOW, TRACE)
    auditing.subject_entries(services, AUDITOR, V_BORIS, NOW, TRACE)
    auditing.own_copy(services, LEIDEN, V_ANNA, "nl", NOW, TRACE)
    auditing.access_report(services, V_ANNA, NOW)
    reads = _reads(services)
    assert len(reads) == 8
    assert {r["subject"] for r in reads} == {
        None,
        services.pseudonym(V_BORIS),
        services.pseudonym(V_ANNA),
    }
    assert all(e["time"] == format_time(NOW) for e in _log(services).entries()[HELD:])
    _no_personal_data_recorded(services)


# -- who may read (the policy checks of #27 item 2)


def _as(role: str, oin: str = LEIDEN.oin) -> Party:
    """A party in ``role`` (at Leiden's OIN unless told): only the role check can refuse it."""
    return Party(oin, role, "Zelfde OIN, andere rol", "GM0363" if role == "municipality" else None)


@pytest.mark.parametrize("party", [AUDITOR, LEIDEN, PROVIDER, COA], ids=lambda p: p.role)
def test_every_role_may_read_the_checkpoint(services: Services, party: Party) -> None:
    assert auditing.checkpoint(services, party, NOW, TRACE).tree_size == HELD + 1


def test_a_role_without_a_grant_may_not_read_the_checkpoint(services: Services) -> None:
    with pytest.raises(NotAuthorised):
        auditing.checkpoint(services, _as("operator"), NOW, TRACE)
    assert len(_log(services).rows) == HELD


AUDITOR_ONLY: dict[str, Callable[[Services, Party], object]] = {
    "checkpoint_list": lambda s, p: auditing.checkpoint_list(s, p, 0, NOW, TRACE),
    "entries": lambda s, p: auditing.entries(s, p, 0, 3, NOW, TRACE),
    "export": lambda s, p: auditing.export(s, p, 0, 3, NOW, TRACE),
    "inclusion": lambda s, p: auditing.inclusion(s, p, 0, 3, NOW, TRACE),
    "consistency": lambda s, p: auditing.consistency(s, p, 1, 3, NOW, TRACE),
    "subject_entries": lambda s, p: auditing.subject_entries(s, p, V_ANNA, NOW, TRACE),
}


@pytest.mark.parametrize("role", ["municipality", "provider", "coa"])
@pytest.mark.parametrize("read", AUDITOR_ONLY, ids=list(AUDITOR_ONLY))
def test_the_log_itself_is_for_auditors_only(services: Services, read: str, role: str) -> None:
    with pytest.raises(NotAuthorised):
        AUDITOR_ONLY[read](services, _as(role))
    assert len(_log(services).rows) == HELD  # not entered: nothing was read
    assert _log(services).calls == []


@pytest.mark.parametrize("role", ["auditor", "provider", "coa"])
def test_the_own_copy_is_for_the_placing_municipality_only(services: Services, role: str) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN)
    with pytest.raises(NotAuthorised):
        auditing.own_copy(services, _as(role), V_ANNA, "nl", NOW, TRACE)
    assert _reads(services) == [] and _log(services).calls == []
