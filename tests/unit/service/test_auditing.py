"""Reading the audit log as use cases over the fake log: checkpoints, entries, the export,
proofs that verify, who may read the log, and the reads recorded in the log they read.

Each read is an ``audit.read`` entry naming the reader and what was read. The proofs are
checked with the verifier's own functions against roots computed from the leaves. A
newcomer's trail and own copy are in ``test_auditing_trail``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.domain.audit import checkpoints, merkle
from gateway.domain.parties import Party
from gateway.domain.schemas import Catalog
from gateway.errors import BadRequest, NotAuthorised, ProofError
from gateway.service import auditing
from gateway.service.checkpointer import CheckpointSigner
from gateway.service.services import Services
from tests.unit.service.audit_world import (
    HELD,
    as_role,
    audit_log,
    expected_read,
    held_log,
    reads,
)
from tests.unit.service.fake_audit import FakeAuditLog, FakeTip
from tests.unit.service.fakes import (
    AUDITOR,
    COA,
    LEIDEN,
    NOW,
    ORIGIN,
    PROVIDER,
    TRACE,
    V_ANNA,
    FakeStore,
    event,
    fake_store,
    make_services,
    make_signer,
)


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    return held_log(catalog, tmp_path)


# -- checkpoints


def test_a_checkpoint_read_is_entered_first_and_the_checkpoint_covers_it(
    services: Services,
) -> None:
    made = auditing.checkpoint(services, AUDITOR, NOW, TRACE)
    assert reads(services) == [expected_read(services, "checkpoint")]
    log = audit_log(services)
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
    assert [r["actor"] for r in reads(services)] == [AUDITOR.oin, LEIDEN.oin]


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
    log = audit_log(services)
    for _ in range(4):
        log.append([event()], NOW)
        services.checkpoints.sign(NOW)
    monkeypatch.setattr(auditing, "PAGE", 2)
    found = auditing.checkpoint_list(services, AUDITOR, 1, NOW, TRACE)
    assert [c.seq for c in found] == [2, 3]
    assert [c.tree_size for c in found] == [HELD + 2, HELD + 3]
    assert reads(services)[0]["reason"] == "checkpoints:after:1"
    assert auditing.checkpoint_list(services, AUDITOR, 4, NOW, TRACE) == []
    assert [r["reason"] for r in reads(services)] == ["checkpoints:after:1", "checkpoints:after:4"]


# -- entries and the export


def test_entries_are_the_stored_bytes_with_their_leaf_hashes_and_the_read_follows(
    services: Services,
) -> None:
    found = auditing.entries(services, AUDITOR, 1, 4, NOW, TRACE)
    assert [i for i, _, _ in found] == [1, 2, 3]
    for index, data, leaf in found:
        assert data == audit_log(services).rows[index].data
        assert leaf == hashlib.sha256(b"\x00" + data).hexdigest()
    assert reads(services) == [expected_read(services, "entries:1-4")]
    beyond = auditing.entries(services, AUDITOR, HELD, HELD + 10, NOW, TRACE)
    assert [i for i, _, _ in beyond] == [HELD]  # the read of the first call, nothing more


def test_the_export_enters_its_read_at_once_and_reads_chunks_as_they_stream(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auditing, "EXPORT_CHUNK", 2)
    log = audit_log(services)
    chunks = auditing.export(services, AUDITOR, 0, HELD, NOW, TRACE)
    assert reads(services) == [expected_read(services, f"export:0-{HELD}")]
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
    assert reads(services) == [expected_read(services, "export:3-3")]


# -- proofs


def test_every_inclusion_proof_verifies_against_the_root_of_its_size(services: Services) -> None:
    log = audit_log(services)
    leaves = log.leaves()
    for size in range(1, HELD + 1):
        for index in range(size):
            path = auditing.inclusion(services, AUDITOR, index, size, NOW, TRACE)
            merkle.verify_inclusion(index, size, leaves[index], path, merkle.root_of(leaves[:size]))
    reasons = [r["reason"] for r in reads(services)]
    assert reasons[0] == "inclusion:0@1" and reasons[-1] == f"inclusion:{HELD - 1}@{HELD}"
    assert len(reasons) == HELD * (HELD + 1) // 2


def test_an_inclusion_proof_of_another_leaf_does_not_verify(services: Services) -> None:
    leaves = audit_log(services).leaves()
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
    assert reads(services) == []


def test_every_consistency_proof_verifies_between_the_roots(services: Services) -> None:
    leaves = audit_log(services).leaves()
    for second in range(1, HELD + 1):
        for first in range(1, second + 1):
            path = auditing.consistency(services, AUDITOR, first, second, NOW, TRACE)
            roots = merkle.root_of(leaves[:first]), merkle.root_of(leaves[:second])
            merkle.verify_consistency(first, second, *roots, path)
    assert reads(services)[0]["reason"] == "consistency:1-1"
    assert reads(services)[-1]["reason"] == f"consistency:{HELD}-{HELD}"


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [(0, HELD, ProofError), (3, 2, ProofError), (1, HELD + 1, BadRequest)],
)
def test_a_consistency_proof_out_of_range_is_refused_and_not_entered(
    services: Services, first: int, second: int, refused: type[Exception]
) -> None:
    with pytest.raises(refused):
        auditing.consistency(services, AUDITOR, first, second, NOW, TRACE)
    assert reads(services) == []


# -- who may read (the policy checks of #27 item 2)


@pytest.mark.parametrize("party", [AUDITOR, LEIDEN, PROVIDER, COA], ids=lambda p: p.role)
def test_every_role_may_read_the_checkpoint(services: Services, party: Party) -> None:
    assert auditing.checkpoint(services, party, NOW, TRACE).tree_size == HELD + 1


def test_a_role_without_a_grant_may_not_read_the_checkpoint(services: Services) -> None:
    with pytest.raises(NotAuthorised):
        auditing.checkpoint(services, as_role("operator"), NOW, TRACE)
    assert len(audit_log(services).rows) == HELD


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
        AUDITOR_ONLY[read](services, as_role(role))
    assert len(audit_log(services).rows) == HELD  # not entered: nothing was read
    assert audit_log(services).calls == []
