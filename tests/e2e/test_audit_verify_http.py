"""The offline verifier against a real gateway: intact, tampered, truncated, forked logs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from connectors.auditor.leaves import LogMismatch
from connectors.auditor.verify import verify_log
from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.e2e.auditlogs import JOSE, Log, keep_copy, restore_copy, sql, start_log, truncate
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e


def test_an_untouched_log_verifies_and_the_state_is_kept(log: Log) -> None:
    state = log.folder / "state.json"
    first = log.verify(state)
    assert first.returncode == 0, first.stderr
    assert "verified:" in first.stdout
    kept = json.loads(state.read_text())
    log.grow(3, seed=600)
    second = log.verify(state)
    assert second.returncode == 0, second.stderr
    assert json.loads(state.read_text())["tree_size"] > kept["tree_size"]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (
            "UPDATE audit_entries SET entry = "
            "CAST(replace(CAST(entry AS TEXT), '\"ok\"', '\"OK\"') AS BLOB) WHERE idx = 5",
            "entry 5: its bytes do not hash to its leaf hash",
        ),
        ("DELETE FROM audit_entries WHERE idx = 7", "entry 7 is missing"),
        (
            "UPDATE audit_entries SET idx = -1 WHERE idx = 3; "
            "UPDATE audit_entries SET idx = 3 WHERE idx = 4; "
            "UPDATE audit_entries SET idx = 4 WHERE idx = -1",
            "entry 3 claims index 4",
        ),
        (
            "DELETE FROM audit_entries WHERE idx >= (SELECT next_index - 4 FROM audit_counter)",
            "is missing: checkpoint",
        ),
    ],
    ids=["one byte changed", "one entry deleted", "two entries swapped", "tail truncated"],
)
def test_tampering_in_the_database_is_detected_and_named(log: Log, tamper: str, named: str) -> None:
    assert log.verify().returncode == 0  # signs checkpoints over the untouched log
    sql(log.db, *tamper.split("; "))
    result = log.verify()
    assert result.returncode == 2
    assert "NOT VERIFIED" in result.stderr and named in result.stderr


def test_truncation_with_its_checkpoints_removed_is_caught_by_the_state(log: Log) -> None:
    state = log.folder / "state.json"
    assert log.verify(state).returncode == 0
    truncate(log, json.loads(state.read_text())["tree_size"])
    result = log.verify(state)
    assert result.returncode == 2 and "log truncated" in result.stderr


def test_a_fork_from_an_older_copy_is_detected_by_a_verifier_that_saw_the_first(log: Log) -> None:
    state = log.folder / "state.json"
    copy = keep_copy(log)
    log.grow(4, seed=700)
    assert log.verify(state).returncode == 0  # the verifier has seen the first history
    restore_copy(log, copy)
    log.grow(8, seed=800)  # a different history, longer than the one verified
    result = log.verify(state)
    assert result.returncode == 2 and "rewritten or forked" in result.stderr


def test_the_verifier_on_the_contracts_pages_agrees_and_names_tampering(log: Log) -> None:
    auditor = log.cast.client(demo.AUDITOR)
    by_pages = verify_log(auditor, export=False)
    exported = verify_log(auditor)
    assert 0 < by_pages.tree_size < exported.tree_size  # (the reads themselves grew it)
    sql(log.db, "DELETE FROM audit_entries WHERE idx = 7")
    with pytest.raises(LogMismatch, match="entry 7 is missing"):
        verify_log(auditor, export=False)


def test_an_exported_entry_not_in_canonical_form_is_named(log: Log) -> None:
    assert log.verify().returncode == 0
    with sqlite3.connect(log.db) as conn:
        (entry,) = conn.execute("SELECT entry FROM audit_entries WHERE idx = 0").fetchone()
        spaced = bytes(entry).replace(b'{"', b'{ "', 1)  # same object, other bytes
        leaf = hashlib.sha256(b"\x00" + spaced).hexdigest()
        conn.execute(
            "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 0", (spaced, leaf)
        )
    result = log.verify()
    assert result.returncode == 2
    assert "entry 0: not in RFC 8785 canonical form" in result.stderr


def test_intake_fails_closed_while_checkpoints_are_overdue(tmp_path: Path) -> None:
    started = start_log(
        tmp_path, GATEWAY_CHECKPOINT_INTERVAL_SECONDS="3600", GATEWAY_CHECKPOINT_GRACE_SECONDS="1"
    )
    try:
        coa = started.cast.client(demo.COA)
        coa.get_json("/v1/audit/checkpoint")  # covers everything so far
        started.grow(1, seed=1000)
        time.sleep(2.2)  # the new entries wait longer than the grace
        token, _ = profile_token(coa, 1001)
        paused = requests.post(
            started.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
        )
        assert paused.status_code == 503 and "checkpoints overdue" in paused.json()["detail"]
        coa.get_json("/v1/audit/checkpoint")  # a checkpoint on request covers them again
        time.sleep(1.1)  # the guard's cache
        resumed = requests.post(
            started.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
        )
        assert resumed.status_code == 202
    finally:
        started.server.stop()


def test_two_server_processes_on_one_database_keep_one_log(tmp_path: Path) -> None:
    first = start_log(tmp_path)
    second = ServerProcess(first.server.instance, workers=2).start()
    try:
        coa = first.cast.client(demo.COA)
        tokens = [profile_token(coa, 2000 + i)[0] for i in range(120)]
        statuses: list[int] = []

        def drive(url: str, part: list[str]) -> None:
            with requests.Session() as session:
                for token in part:
                    statuses.append(
                        session.post(
                            url + "/v1/messages", data=token, headers=JOSE, timeout=30
                        ).status_code
                    )

        threads = [
            threading.Thread(target=drive, args=(server.url, tokens[i::4]))
            for i, server in enumerate([first.server, second, first.server, second])
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses.count(202) == 120
        store = storage_of(services_for(first.server.instance))
        indices = [e["index"] for e in store.audit.entries()]
        assert indices == list(range(len(indices)))
        assert first.verify().returncode == 0
    finally:
        second.stop()
        first.server.stop()
