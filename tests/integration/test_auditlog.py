"""The stored Merkle tree on real SQLite: roots, proofs and checkpoints."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from gateway.bootstrap import storage_of
from gateway.domain.audit import checkpoints, merkle
from gateway.domain.wire import jwk
from gateway.errors import BadRequest, CheckpointError, ProofError
from gateway.service.services import Services
from tests.helpers import read_event, record


def _grow(services: Services, count: int) -> None:
    now = datetime.now(UTC)
    for _ in range(count):
        record(services, read_event(), now=now)


def _leaves(services: Services) -> list[bytes]:
    return [bytes.fromhex(e["leaf_hash"]) for e in storage_of(services).audit.entries()]


def test_roots_and_proofs_from_stored_nodes_match_the_reference(services: Services) -> None:
    log = storage_of(services).audit
    _grow(services, 13)
    assert log.root(5) == merkle.root_of(_leaves(services)[:5])  # folds up to 5 only
    _grow(services, 60)
    leaves = _leaves(services)
    for size in (1, 2, 5, 8, 13, 31, 32, 33, 64, 73):
        root = log.root(size)
        assert root == merkle.root_of(leaves[:size])
        for index in {0, size // 2, size - 1}:
            merkle.verify_inclusion(index, size, leaves[index], log.inclusion(index, size), root)
        for first in {1, size // 3 or 1, size}:
            merkle.verify_consistency(
                first, size, merkle.root_of(leaves[:first]), root, log.consistency(first, size)
            )


def test_proofs_beyond_the_log_are_refused(services: Services) -> None:
    _grow(services, 4)
    with pytest.raises(BadRequest):
        services.store.audit.inclusion(0, 5)
    with pytest.raises(ProofError):
        services.store.audit.inclusion(4, 4)
    with pytest.raises(ProofError):
        services.store.audit.consistency(0, 4)


def test_checkpoint_is_signed_both_ways_and_only_when_the_log_grew(services: Services) -> None:
    log, now = services.checkpoints, datetime.now(UTC)
    assert log.sign(now) is None  # empty log: nothing to sign
    _grow(services, 9)
    first = log.sign(now)
    assert first is not None and first.tree_size == 9
    assert first.root_hash == merkle.root_of(_leaves(services)).hex()
    assert log.sign(now) is None  # no growth, no new checkpoint
    _grow(services, 1)
    assert log.sign(now, min_age=timedelta(minutes=1)) is None  # too soon for the timer
    second = log.sign(now)
    assert second is not None and second.tree_size == 10 and second.seq > first.seq
    keys = {services.signer.kid: jwk.import_jwk(jwk.public_jwk(services.signer.key))}
    assert checkpoints.verify_jws(second.jws, keys).tree_size == 10
    noted = checkpoints.verify_note(second.note, log.origin, services.signer.key)
    assert (noted.tree_size, noted.root_hash) == (10, second.root_hash)
    lines = second.note.split("\n")
    assert lines[:3] == [
        log.origin,
        "10",
        base64.b64encode(bytes.fromhex(second.root_hash)).decode(),
    ]
    assert lines[3] == "" and lines[4].startswith("\u2014 " + log.origin + " ")
    assert [c.seq for c in services.store.audit.checkpoints(0, 1000)] == [first.seq, second.seq]


def test_a_note_signed_by_another_key_or_for_another_log_is_refused(services: Services) -> None:
    _grow(services, 3)
    stored = services.checkpoints.sign(datetime.now(UTC))
    assert stored is not None
    with pytest.raises(CheckpointError):
        checkpoints.verify_note(stored.note, services.checkpoints.origin, jwk.generate())
    with pytest.raises(CheckpointError):
        checkpoints.verify_note(stored.note, "another/log", services.signer.key)
    forged = stored.note.replace("\n3\n", "\n4\n", 1)
    with pytest.raises(CheckpointError):
        checkpoints.verify_note(forged, services.checkpoints.origin, services.signer.key)


def test_pending_since_names_the_oldest_unsigned_entry(services: Services) -> None:
    log = storage_of(services).audit
    assert log.pending_since() is None
    _grow(services, 2)
    assert log.pending_since() is not None
    services.checkpoints.sign(datetime.now(UTC))
    assert log.pending_since() is None
