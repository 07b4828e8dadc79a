"""The auditor API over HTTP: checkpoints, export, subject access, assertions, parameters."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from connectors.common.client import GatewayClient
from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.domain.audit import checkpoints
from gateway.domain.wire import bearer, envelope, jwk
from gateway.errors import BadRequest, NotAuthorised, Unauthenticated
from tests.conftest import services_for
from tests.e2e.auditlogs import JOSE, Log
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e


def test_checkpoint_is_open_to_every_party_the_rest_to_auditors(shared: Log) -> None:
    coa, auditor = shared.cast.client(demo.COA), shared.cast.client(demo.AUDITOR)
    keys = coa.gateway_keys()
    point = checkpoints.verify_jws(coa.get_json("/v1/audit/checkpoint")["checkpoint"], keys)
    assert point.tree_size > 12
    with pytest.raises(NotAuthorised):
        coa.get_json("/v1/audit/entries", start=0, end=10)
    page = auditor.get_json("/v1/audit/entries", start=0, end=10)["entries"]
    assert [e["index"] for e in page] == list(range(10))
    store = storage_of(services_for(shared.server.instance))
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
            auditor.get("/v1/audit/export", start=bad["start"], end=bad["end"])
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
    store = storage_of(services_for(shared.server.instance))
    reasons = [e["entry"]["reason"] for e in store.audit.entries()[-3:]]
    assert "export:0-10" in reasons


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
        claims["exp"] = int(str(claims["iat"])) + 301
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
    assert person.family_name not in html and person.bsn not in html
    english = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "report", person.v_number, "--lang", "en",
         "--out", str(out)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "GATEWAY_INSTANCE": str(shared.server.instance)},
    )  # fmt: skip
    assert english.returncode == 0, english.stderr
    assert "COA (demo) sent your handover file (blue folder)." in out.read_text()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/audit/entries?start=abc", "bad-request"),
        ("/v1/audit/entries?start=-1", "bad-request"),
        ("/v1/audit/entries?start=5&end=5", "bad-request"),
        ("/v1/audit/entries?start=99999999999999999999", "bad-request"),
        ("/v1/audit/proofs/inclusion?index=0&tree_size=999999", "bad-request"),
        ("/v1/audit/proofs/inclusion?index=3&tree_size=3", "invalid-proof"),
        ("/v1/audit/proofs/inclusion?tree_size=3", "bad-request"),
        ("/v1/audit/proofs/consistency?first=0&second=3", "invalid-proof"),
        ("/v1/audit/proofs/inclusion?index=999999&tree_size=999999", "invalid-proof"),
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


def test_a_range_over_a_page_gets_the_first_page_and_the_client_goes_on(shared: Log) -> None:
    auditor = shared.cast.client(demo.AUDITOR)
    size = len(auditor.get_json("/v1/audit/entries", start=0, end=1000)["entries"])
    assert size >= 12
    shared.grow(1000 - size + 5, seed=5000)  # more than a page in the log
    page = auditor.get_json("/v1/audit/entries", start=0, end=5000)["entries"]
    assert [e["index"] for e in page] == list(range(1000))
    rest = auditor.get_json("/v1/audit/entries", start=1000, end=5000)["entries"]
    assert rest and rest[0]["index"] == 1000
