"""The audit log over HTTP: auditor API, assertions, the offline verifier, tampering."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from connectors.auditor import LogMismatch, verify_log
from connectors.client import GatewayClient
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit import checkpoints
from gateway.domain.wire import bearer, envelope, jwk
from gateway.errors import BadRequest, NotAuthorised, Unauthenticated
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


@dataclass
class Log:
    server: ServerProcess
    cast: demo.Cast
    folder: Path

    @property
    def db(self) -> Path:
        return self.server.instance / "gateway.db"

    def grow(self, count: int, seed: int) -> None:
        coa = self.cast.client(demo.COA)
        for i in range(count):
            token, _ = profile_token(coa, seed + i)
            response = requests.post(
                self.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
            )
            assert response.status_code == 202

    def auditor_key(self) -> Path:
        path = self.folder / "auditor.jwk"
        if not path.exists():
            path.write_text(json.dumps(jwk.private_jwk(self.cast.keys[demo.AUDITOR])))
        return path

    def verify(self, state: Path | None = None) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "gateway",
            "audit",
            "verify",
            "--url",
            self.server.url,
            "--oin",
            demo.AUDITOR,
            "--key",
            str(self.auditor_key()),
        ]
        if state is not None:
            command += ["--state", str(state)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _start(folder: Path, **env: str) -> Log:
    server = ServerProcess(folder / "instance", env=env).start()
    cast = demo.register_cast(services_for(server.instance), server.url, datetime.now(UTC))
    return Log(server, cast, folder)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    """A log of its own, for tests that tamper with it."""
    started = _start(tmp_path)
    started.grow(12, seed=500)
    yield started
    started.server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    """One log for the tests that only read and append."""
    started = _start(tmp_path_factory.mktemp("shared-log"))
    started.grow(12, seed=400)
    yield started
    started.server.stop()


def _sql(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


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
    _sql(log.db, *tamper.split("; "))
    result = log.verify()
    assert result.returncode == 2
    assert "NOT VERIFIED" in result.stderr and named in result.stderr


def test_truncation_with_its_checkpoints_removed_is_caught_by_the_state(log: Log) -> None:
    state = log.folder / "state.json"
    assert log.verify(state).returncode == 0
    size = json.loads(state.read_text())["tree_size"]
    _sql(
        log.db,
        f"DELETE FROM audit_entries WHERE idx >= {size - 5}",
        f"DELETE FROM checkpoints WHERE tree_size >= {size - 5}",
        "DELETE FROM audit_nodes",
        "UPDATE audit_tree SET size = 0",
        f"UPDATE audit_counter SET next_index = {size - 5}",
    )
    result = log.verify(state)
    assert result.returncode == 2 and "log truncated" in result.stderr


def test_a_fork_from_an_older_copy_is_detected_by_a_verifier_that_saw_the_first(log: Log) -> None:
    state = log.folder / "state.json"
    backup = log.folder / "backup"
    log.server.stop()
    backup.mkdir()
    for f in log.server.instance.glob("gateway.db*"):
        shutil.copy2(f, backup / f.name)
    log.server.start()
    log.grow(4, seed=700)
    assert log.verify(state).returncode == 0  # the verifier has seen the first history
    log.server.stop()
    for f in log.server.instance.glob("gateway.db*"):
        f.unlink()
    for f in backup.iterdir():
        shutil.copy2(f, log.server.instance / f.name)
    log.server.start()
    log.grow(8, seed=800)  # a different history, longer than the one verified
    result = log.verify(state)
    assert result.returncode == 2 and "rewritten or forked" in result.stderr


def test_checkpoint_is_open_to_every_party_the_rest_to_auditors(shared: Log) -> None:
    coa, auditor = shared.cast.client(demo.COA), shared.cast.client(demo.AUDITOR)
    keys = coa.gateway_keys()
    point = checkpoints.verify_jws(coa.get_json("/v1/audit/checkpoint")["checkpoint"], keys)
    assert point.tree_size > 12
    with pytest.raises(NotAuthorised):
        coa.get_json("/v1/audit/entries", start=0, end=10)
    page = auditor.get_json("/v1/audit/entries", start=0, end=10)["entries"]
    assert [e["index"] for e in page] == list(range(10))
    store = services_for(shared.server.instance).store
    last = store.audit.entries(store.count("audit_entries") - 1)[0]["entry"]
    assert (last["event"], last["actor"], last["reason"]) == (
        "audit.read",
        demo.AUDITOR,
        "entries:0-10",
    )


def test_the_export_serves_the_stored_bytes_to_auditors_only_and_is_audited(
    shared: Log,
) -> None:
    coa, auditor = shared.cast.client(demo.COA), shared.cast.client(demo.AUDITOR)
    with pytest.raises(NotAuthorised):
        coa.get("/v1/audit/export", start=0, end=10)
    for bad in ({"start": 5, "end": 5}, {"start": 0, "end": 100_001}):
        with pytest.raises(BadRequest):
            auditor.get("/v1/audit/export", **bad)
    response = auditor.get("/v1/audit/export", start=0, end=10)
    assert response.headers["Content-Type"] == "application/jsonl"
    lines = response.content.splitlines()
    page = auditor.get_json("/v1/audit/entries", start=0, end=10)["entries"]
    assert [json.loads(line) for line in lines] == [
        [e["index"], e["leaf_hash"], e["entry"]] for e in page
    ]
    for line, item in zip(lines, page, strict=True):
        raw = line[1:-1].split(b",", 2)[2]  # the entry's bytes, exactly as stored
        assert hashlib.sha256(b"\x00" + raw).hexdigest() == item["leaf_hash"]
    store = services_for(shared.server.instance).store
    reasons = [e["entry"]["reason"] for e in store.audit.entries()[-3:]]
    assert "export:0-10" in reasons


def test_the_verifier_on_the_contracts_pages_agrees_and_names_tampering(log: Log) -> None:
    auditor = log.cast.client(demo.AUDITOR)
    by_pages = verify_log(auditor, export=False)
    exported = verify_log(auditor)
    assert 0 < by_pages.tree_size < exported.tree_size  # (the reads themselves grew it)
    _sql(log.db, "DELETE FROM audit_entries WHERE idx = 7")
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


def test_the_note_form_verifies_with_the_published_note_key(shared: Log) -> None:
    auditor = shared.cast.client(demo.AUDITOR)
    vkey = requests.get(shared.server.url + "/v1/audit/note-key", timeout=5).text.strip()
    origin = vkey.split("+")[0]
    note = auditor.get("/v1/audit/checkpoint", accept="text/plain").text
    key = next(iter(auditor.gateway_keys().values()))
    assert checkpoints.vkey(origin, key) == vkey
    assert checkpoints.verify_note(note, origin, key).tree_size > 0


def test_subject_access_lists_every_entry_about_one_newcomer(shared: Log) -> None:
    coa, auditor = shared.cast.client(demo.COA), shared.cast.client(demo.AUDITOR)
    token, person = profile_token(coa, 900)
    requests.post(shared.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10)
    requests.post(shared.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10)
    answer = auditor.get_json(f"/v1/audit/subjects/{person.v_number}")
    events = [e["entry"]["event"] for e in answer["entries"]]
    assert events == ["message.accepted"]  # the retry was idempotent: no second event
    assert person.v_number not in json.dumps(answer)


@pytest.mark.parametrize(
    "flaw",
    [
        "replayed",
        "expired",
        "wrong audience",
        "wrong typ",
        "too long-lived",
        "no header",
        "other issuer",
        "unregistered key",
    ],
)
def test_flawed_assertions_are_401_with_www_authenticate(shared: Log, flaw: str) -> None:
    auditor = shared.cast.client(demo.AUDITOR)
    key, now = auditor.key, datetime.now(UTC)
    claims = bearer.make_claims(demo.AUDITOR, now, f"jti-{flaw.replace(' ', '-')}-{time.time_ns()}")
    typ = envelope.ASSERTION_TYP
    if flaw == "expired":
        claims.update(iat=int(now.timestamp()) - 400, exp=int(now.timestamp()) - 100)
    elif flaw == "wrong audience":
        claims["aud"] = "another-gateway"
    elif flaw == "wrong typ":
        typ = envelope.MESSAGE_TYP
    elif flaw == "too long-lived":
        claims["exp"] = int(claims["iat"]) + 301  # type: ignore[call-overload]
    elif flaw == "other issuer":
        claims["iss"] = demo.COA
    elif flaw == "unregistered key":
        key = jwk.generate()
    token = envelope.sign(claims, key, typ=typ)
    headers = {} if flaw == "no header" else {"Authorization": f"Bearer {token}"}
    url = shared.server.url + "/v1/audit/entries?start=0&end=1"
    if flaw == "replayed":
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
    response = requests.get(url, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_intake_fails_closed_while_checkpoints_are_overdue(tmp_path: Path) -> None:
    started = _start(
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
    first = _start(tmp_path)
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
        store = services_for(first.server.instance).store
        indices = [e["index"] for e in store.audit.entries()]
        assert indices == list(range(len(indices)))
        assert first.verify().returncode == 0
    finally:
        second.stop()
        first.server.stop()


def test_unauthenticated_checkpoint_read_is_refused(shared: Log) -> None:
    response = requests.get(shared.server.url + "/v1/audit/checkpoint", timeout=5)
    assert response.status_code == 401
    with pytest.raises(Unauthenticated):
        GatewayClient(shared.server.url, demo.COA, jwk.generate(), retries=0).get_json(
            "/v1/audit/checkpoint"
        )


def test_the_access_report_command_writes_the_newcomers_report(shared: Log) -> None:
    token, person = profile_token(shared.cast.client(demo.COA), 950)
    requests.post(shared.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10)
    out = shared.folder / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "report", person.v_number, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_INSTANCE": str(shared.server.instance)},
    )
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "COA (demo) stuurde uw overdrachtsdossier (blauwe map)." in html
    assert "COA (demo) sent your handover file (blue folder)." in html
    assert person.family_name not in html and person.bsn not in html


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/audit/entries?start=abc", "bad-request"),
        ("/v1/audit/entries?start=-1", "bad-request"),
        ("/v1/audit/entries?start=0&end=1001", "bad-request"),
        ("/v1/audit/entries?start=5&end=5", "bad-request"),
        ("/v1/audit/entries?start=99999999999999999999", "bad-request"),
        ("/v1/audit/proofs/inclusion?index=0&tree_size=999999", "bad-request"),
        ("/v1/audit/proofs/inclusion?index=3&tree_size=3", "invalid-proof"),
        ("/v1/audit/proofs/inclusion?tree_size=3", "bad-request"),
        ("/v1/audit/proofs/consistency?first=0&second=3", "bad-request"),
        ("/v1/audit/proofs/consistency?first=4&second=3", "invalid-proof"),
        ("/v1/audit/subjects/12345", "bad-request"),
    ],
)
def test_bad_parameters_are_named_problems(shared: Log, path: str, code: str) -> None:
    auditor = shared.cast.client(demo.AUDITOR)
    response = requests.get(
        shared.server.url + path,
        headers={"Authorization": f"Bearer {auditor.assertion()}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
