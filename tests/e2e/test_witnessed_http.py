"""A witnessed log, end to end over HTTP (issue #31): the gateway asks two witnesses (the
auditor's ``witness serve``, one Ed25519 and one ML-DSA-44), the auditor's verifier requires
their quorum, a database restored from an older backup stops intake, and a forked copy of the
database is refused by both witnesses and reported by the verifier.

Each test has a deployment of its own on the embedded SQLite: a gateway instance, two
witnesses that witness its log, and the demo parties. The log grows by reads of the
checkpoint, each of which is an audited read and signs a checkpoint.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit.witnessing import CosigningKey
from tests.e2e.witness_world import (
    FAST,
    Deployment,
    Witness,
    cosigned_by_both,
    deploy,
    policy,
    until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deploy(tmp_path) as made:
        yield made


def _backup(instance: Path, to: Path) -> None:
    """A consistent copy of the running gateway's database (SQLite's online backup)."""
    source, target = sqlite3.connect(instance / "gateway.db"), sqlite3.connect(to)
    with target:
        source.backup(target)
    source.close()
    target.close()


def _restore(copy: Path, instance: Path) -> None:
    """The database file replaced by ``copy``, as an operator restores one (no old WAL)."""
    for suffix in ("-wal", "-shm"):
        (instance / f"gateway.db{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, instance / "gateway.db")


def test_two_witnesses_cosign_and_the_verifier_requires_them(witnessed: Deployment) -> None:
    d = witnessed
    size = d.grow(5)
    until(lambda: cosigned_by_both(d, size), what="both witnesses cosign")
    both = policy(d.folder, d.witnesses, "all", log_vkey=d.log_vkey)
    done = d.verify(both)
    assert done.returncode == 0, done.stderr
    assert "witnessed: tree size" in done.stdout and "W0, W1" in done.stdout
    assert "asked directly: W0, W1" in done.stdout

    stranger = policy(d.folder / "other", [*d.witnesses[:1], _stranger(d)], "all",
                      log_vkey=d.log_vkey, urls=False)  # fmt: skip
    refused = d.verify(stranger)
    assert refused.returncode == 2
    assert "lacks the policy's quorum of witnesses (everyone): cosigned by W0" in refused.stderr


def _stranger(d: Deployment) -> Witness:
    """A witness the gateway never asked: only its key, for a policy that requires it."""
    key = CosigningKey.generate("witness.stranger.example/w9")
    return Witness(key.name, key.verifier.vkey, "http://127.0.0.1:9/", d.folder,
                   d.witnesses[0].process)  # fmt: skip


def test_a_database_restored_from_an_older_backup_stops_intake(deployment: Deployment) -> None:
    d = deployment
    (d.folder / "backup").mkdir()
    with d.serve():
        d.grow(3)
        _backup(d.instance, d.folder / "backup" / "gateway.db")
        size = d.grow(6)
        until(lambda: cosigned_by_both(d, size), what="both witnesses cosign the newer log")
        assert d.intake().status_code == 202
    newer = d.folder / "newer.db"
    _backup(d.instance, newer)  # its write-ahead log included
    _restore(d.folder / "backup" / "gateway.db", d.instance)

    with d.serve():
        until(lambda: d.intake().status_code == 503, what="intake held")
        held = d.intake()
        problem = held.json()
        assert problem["code"] == "log-held" and held.headers["Retry-After"] == "300"
        assert "witness witness.auditdienst.example/w1 holds size" in problem["detail"]
        assert requests.get(f"{d.cast.url}/v1/health", timeout=10).json()["code"] == "log-held"
        client_policy = policy(d.folder, d.witnesses, "any", log_vkey=d.log_vkey)
        report = d.verify(client_policy)  # nothing is read (a read would append): refused
        assert report.returncode == 2 and "log-held" in report.stderr
        assert "holds size" in report.stderr

    _restore(newer, d.instance)  # the missing entries are back
    with d.serve():
        until(lambda: d.intake().status_code == 202, what="intake again, the log whole")


def test_a_forked_copy_is_refused_by_both_witnesses_and_reported(deployment: Deployment) -> None:
    d = deployment
    fork = d.folder / "fork"
    with d.serve():
        d.grow(3)
        until(lambda: cosigned_by_both(d, 1), what="both witnesses cosign")
        shutil.copytree(d.instance, fork, ignore=shutil.ignore_patterns("*.log", "gateway.db*"))
        _backup(d.instance, fork / "gateway.db")
        size = d.grow(4)
        until(lambda: cosigned_by_both(d, size), what="both witnesses cosign the log")
    with ServerProcess(fork, port=d.port, env=FAST):  # the copy grows on its own, unwitnessed
        d.grow(9)  # other entries at the same indices, and more
    shutil.rmtree(d.instance)
    shutil.move(fork, d.instance)

    with ServerProcess(d.instance, port=d.port, env=FAST):  # served without its witnesses
        assert d.intake().status_code == 202  # nothing here holds it ...
        client_policy = policy(d.folder, d.witnesses, "all", log_vkey=d.log_vkey)
        report = d.verify(client_policy)  # ... but the auditor asks the witnesses themselves
        assert report.returncode == 2
        assert "with another root than this log has: a split view" in report.stderr
    with d.serve():  # shown to its witnesses, it is refused by both
        until(lambda: d.intake().status_code == 503, what="intake held on the fork")
        assert d.intake().json()["code"] == "log-held"
        assert "not consistent with what it cosigned" in d.intake().json()["detail"]
    with ServerProcess(d.instance, port=d.port, env=FAST):  # switching them off again ...
        assert d.intake().json()["code"] == "log-held"  # ... does not lift the hold
    for witness in d.witnesses:
        kept = subprocess.run(
            [sys.executable, "-m", "gateway", "connect", "auditor", "witness", "refusals",
             "--data", str(witness.data)], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "422" in kept.stdout, kept.stdout  # each witness keeps the fork's evidence
