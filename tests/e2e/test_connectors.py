"""The four connectors as subprocesses, over HTTP, through the whole scenario."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.auditor.verify import check_once
from connectors.common import exportfile
from gateway.bootstrap import storage_of
from gateway.devtools import demo, samplefiles, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import envelope, jwk
from gateway.service.services import Services
from tests.conftest import services_for
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e
SAMPLES = samplefiles.SAMPLES


@dataclass
class World:
    server: ServerProcess
    services: Services
    cast: demo.Cast
    keys: dict[str, Path]
    tmp: Path

    def run(self, oin: str, *args: str, timeout: float = 120) -> Any:
        """The connector as its party runs it, in a working folder of its own."""
        return connector(self.server.url, oin, self.keys[oin], *args, timeout=timeout, cwd=self.tmp)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A gateway of its own, so that every count below is exact."""
    with ServerProcess(tmp_path / "instance", workers=2, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        yield World(server, services, cast, write_keys(cast, tmp_path / "keys"), tmp_path)


def _messages_of(services: Services, type_: str) -> int:
    return sum(
        1
        for e in storage_of(services).audit.entries()
        if e["entry"]["event"] == "message.accepted" and e["entry"]["type"] == type_
    )


def test_the_whole_scenario_through_the_connectors(world: World) -> None:
    people = samplefiles.newcomers()
    leiden_people = [p for p, place, _ in people if place == samplefiles.LEIDEN]
    reported = [
        json.loads(line)["subject"]
        for line in (SAMPLES / "progress-reports.jsonl").read_text().splitlines()
    ]

    # COA sends its export; a second run sends nothing again.
    receipts = world.tmp / "coa.receipts.jsonl"
    first = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"), "--receipts", str(receipts))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "accepted (202): 60" in first.stdout
    again = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"), "--receipts", str(receipts))
    assert again.returncode == 0 and "skipped: receipted in an earlier run: 60" in again.stdout
    # The same rows from the JSON Lines file are the same messages (ids from the row).
    # issued_at has whole seconds: a run within the first run's second would sign
    # byte-identical messages for the rows whose files agree exactly (200, not 409).
    time.sleep(1.0)
    jsonl = world.run(
        demo.COA,
        "coa",
        str(SAMPLES / "coa-export.jsonl"),
        "--receipts",
        str(world.tmp / "jsonl.receipts.jsonl"),
    )
    assert jsonl.returncode == 0, jsonl.stdout + jsonl.stderr
    assert "already at the gateway (sent by an earlier run; no receipt here): 60" in jsonl.stdout
    assert _messages_of(world.services, "handover-profile") == 60

    # Leiden assigns two newcomers to the provider and records consent for one.
    for subject in reported[:2]:
        assigned = world.run(
            demo.LEIDEN,
            "municipality",
            "assign",
            "--provider",
            demo.PROVIDER,
            "--route",
            "b1-route",
            "--from",
            synthetic.utc(datetime.now(UTC) - timedelta(days=1)),
            "--v-number",
            subject["v_number"],
        )
        assert assigned.returncode == 0, assigned.stderr
    declaration = json.loads((SAMPLES / "consent-declaration.json").read_text())
    declaration["valid_from"] = synthetic.utc(datetime.now(UTC) - timedelta(days=1))
    declaration["valid_until"] = synthetic.utc(datetime.now(UTC) + timedelta(days=365))
    declaration["sources"] = [demo.COA, demo.PROVIDER]
    declaration_file = world.tmp / "declaration.json"
    declaration_file.write_text(json.dumps(declaration))
    declared = world.run(
        demo.LEIDEN,
        "municipality",
        "declare",
        str(declaration_file),
        "--form",
        str(SAMPLES / "consent-form-scan.txt"),
        "--v-number",
        reported[0]["v_number"],
    )
    assert declared.returncode == 0, declared.stderr
    declaration_id = declared.stdout.split()[1]

    # The provider sends its 20 reports: 2 are for assigned newcomers, 18 are refused by row.
    sent = world.run(
        demo.PROVIDER,
        "provider",
        str(SAMPLES / "progress-reports.csv"),
        "--receipts",
        str(world.tmp / "reports.receipts.jsonl"),
    )
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert "accepted (202): 2" in sent.stdout
    assert "refused by the gateway: 18" in sent.stdout
    assert "line 4: no provider assignment in force for this newcomer (not-authorised)" in (
        sent.stdout
    )  # data row 3, below the header
    assert _messages_of(world.services, "progress-report") == 2

    # Leiden pulls into a folder: its profiles and both reports, each verified and acked.
    inbox = world.tmp / "leiden-inbox"
    pulled = world.run(demo.LEIDEN, "municipality", "pull", "--out", str(inbox))
    assert pulled.returncode == 0, pulled.stderr
    files = {p.stem: json.loads(p.read_text()) for p in inbox.glob("*.json")}
    assert len(files) == len(leiden_people) + 2
    assert f"new: {len(files)}," in pulled.stdout
    by_subject = {(d["subject"]["v_number"], d["type"]): d for d in files.values()}
    consented = by_subject[(reported[0]["v_number"], "handover-profile")]
    assert "education" in consented["body"]
    assert "casemanager_notes" in consented["withheld_categories"]
    other = by_subject[(reported[1]["v_number"], "handover-profile")]
    assert "education" not in other["body"] and "education" in other["withheld_categories"]
    assert {"attendance", "enrolment"} <= set(
        by_subject[(reported[0]["v_number"], "progress-report")]["body"]
    )
    again_pulled = world.run(demo.LEIDEN, "municipality", "pull", "--out", str(inbox))
    assert "new: 0, already kept: 0, acknowledged: 0" in again_pulled.stdout

    withdrawn = world.run(
        demo.LEIDEN,
        "municipality",
        "withdraw",
        "--declaration-id",
        declaration_id,
        "--v-number",
        reported[0]["v_number"],
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    records = world.cast.client(demo.LEIDEN).get_json(
        "/v1/consents", v_number=reported[0]["v_number"]
    )["consents"]
    assert [r["kind"] for r in records] == ["withdrawal", "declaration"]
    listed = world.run(demo.LEIDEN, "municipality", "consents", "--v-number",
                       reported[0]["v_number"])  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{declaration_id}  from ") and "withdrawn " in listed.stdout
    raw = storage_of(world.services).read_message(records[1]["message_id"])
    body = json.loads(envelope.b64url_decode(raw.decode().split(".")[1]))["body"]
    assert body["evidence_sha256"] == _sha256(SAMPLES / "consent-form-scan.txt")

    # The next pull brings the withdrawal notice; the folder acts on it.
    consented_file = next(p for p in inbox.glob("*.json") if files[p.stem] is consented)
    token = consented["delivery_token"]
    noticed = world.run(demo.LEIDEN, "municipality", "pull", "--out", str(inbox))
    assert noticed.returncode == 0, noticed.stderr
    assert "withdrawal notices acted on: 1" in noticed.stdout
    notices = [
        n
        for n in (json.loads(p.read_text()) for p in inbox.glob("*.json"))
        if n["type"] == "consent-withdrawn"
    ]
    assert len(notices) == 1 and notices[0]["declaration_id"] == declaration_id
    assert consented["delivery_id"] in notices[0]["affected_deliveries"]
    rewritten = json.loads(consented_file.read_text())
    withdrawn_categories = set(notices[0]["categories"])
    assert "education" in withdrawn_categories
    assert not set(rewritten["body"]) & withdrawn_categories
    assert "identity" in rewritten["body"] and "delivery_token" not in rewritten
    assert rewritten["delivery_token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert rewritten["withdrawn"][0]["notice"] == f"{notices[0]['delivery_id']}.json"

    # Leiden plans for an assigned newcomer; the provider pulls the brief.
    planned = world.run(
        demo.LEIDEN, "municipality", "plan", str(SAMPLES / "plan.json"),
        "--v-number", reported[1]["v_number"],
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    assert "version 1 recorded" in planned.stdout
    briefs = world.tmp / "briefs"
    pulled_briefs = world.run(demo.PROVIDER, "provider", "pull", "--out", str(briefs))
    assert pulled_briefs.returncode == 0, pulled_briefs.stderr
    [brief_file] = briefs.glob("*.json")
    assert brief_file.name.startswith(f"brief-{reported[1]['v_number']}-plan-v1-")
    brief = json.loads(brief_file.read_text())
    assert brief["body"]["route"] == "b1-route" and "participation_goals" not in brief["body"]

    # Many plans from a CSV: the sample's rows are the sample's first two reported newcomers.
    # The second has plan.json's plan in force: another first version is not a second plan.
    many = world.run(demo.LEIDEN, "municipality", "plan", "--file", str(SAMPLES / "plans.csv"))
    assert many.returncode == 1, many.stdout + many.stderr
    assert "line 2: plan " in many.stdout  # as a sheet shows
    assert "line 3: refused: not-sent: plan " in many.stdout
    assert "version 1 is in force for this newcomer and this plan changes it" in many.stdout
    assert "plans: 1 recorded, 1 refused" in many.stdout

    # A first watch, with nothing remembered, says it has nothing to compare with yet.
    fresh = world.run(demo.AUDITOR, "auditor", "watch", "--state", str(world.tmp / "new.state"),
                      "--once")  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr
    assert "first checkpoint, signature good" in fresh.stdout
    assert "nothing to compare it with yet" in fresh.stdout and "consistent" not in fresh.stdout

    # The auditor verifies the whole log, then watches it grow.
    state = world.tmp / "auditor.state"
    verified = world.run(demo.AUDITOR, "auditor", "verify", "--state", str(state))
    assert verified.returncode == 0, verified.stderr
    watched = world.run(demo.AUDITOR, "auditor", "watch", "--state", str(state), "--once")
    assert watched.returncode == 0, watched.stderr
    assert "consistent: tree size" in watched.stdout


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_rows_are_named_by_line_field_and_rule_and_do_not_stop_the_batch(
    world: World,
) -> None:
    rows = [json.loads(line) for line in (SAMPLES / "coa-export.jsonl").read_text().splitlines()]
    rows = rows[:6]
    rows[1]["identity"]["bsn"] = "123456789"  # fails the 11-test
    rows[1]["identity"]["birth_date"] = "30-08-1976"  # and a second problem in the same row
    rows[3]["placement"]["municipality_code"] = "GM9999"  # no such municipality registered
    del rows[4]["identity"]["birth_date"]
    export = world.tmp / "export.csv"
    export.write_text(exportfile.csv_text(rows))
    result = world.run(demo.COA, "coa", str(export))
    assert result.returncode == 1
    assert "accepted (202): 3" in result.stdout
    # Lines as a spreadsheet shows them (the header is line 1), every problem in words.
    assert "line 3: identity.bsn: a BSN of 9 digits that passes the 11-test" in result.stdout
    assert "line 3: identity.birth_date: a date as YYYY-MM-DD" in result.stdout
    assert (
        "line 5: placement.municipality_code: no municipality with this code or OIN is "
        "registered at the gateway" in result.stdout
    )
    assert "line 6: identity: birth_date is required" in result.stdout
    assert "30-08-1976" not in result.stdout + result.stderr
    for row in rows:  # no value of a bad row in the output
        assert row["identity"]["family_name"] + "," not in result.stdout + result.stderr
    assert "123456789" not in result.stdout + result.stderr
    lines = (world.tmp / "export.csv.receipts.jsonl").read_text().splitlines()
    receipts = [json.loads(line) for line in lines]
    assert [r["row"] for r in receipts if r.get("error")] == [2, 4, 5]


def test_auditor_check_names_a_forked_or_truncated_log(world: World, tmp_path: Path) -> None:
    auditor = world.cast.client(demo.AUDITOR)
    state = tmp_path / "state.json"
    seen = check_once(auditor, state)
    assert seen.tree_size > 0 and state.exists()
    good = json.loads(state.read_text())
    from connectors.auditor.leaves import LogMismatch

    state.write_text(json.dumps({**good, "root_hash": "00" * 32}))
    with pytest.raises(LogMismatch, match="forked"):
        check_once(auditor, state)
    state.write_text(json.dumps({**good, "tree_size": good["tree_size"] + 1000}))
    with pytest.raises(LogMismatch, match="truncated"):
        check_once(auditor, state)
    state.write_text(json.dumps({**good, "tree_size": good["tree_size"] - 1}))
    with pytest.raises(LogMismatch, match="not consistent"):
        check_once(auditor, state)


def test_the_directory_lists_parties_for_any_registered_party(world: World) -> None:
    listed = world.cast.client(demo.PROVIDER).get_json("/v1/parties", role="municipality")
    assert {p["municipality_code"]: p["oin"] for p in listed["parties"]} == {
        "GM0546": demo.LEIDEN,
        "GM0344": demo.UTRECHT,
    }
    assert all(set(p) == {"oin", "role", "name", "municipality_code"} for p in listed["parties"])
    from gateway.errors import BadRequest

    with pytest.raises(BadRequest):
        world.cast.client(demo.COA).get_json("/v1/parties", role="admin")


def test_a_delivery_its_token_does_not_sign_is_refused_before_anything_is_kept(
    world: World, tmp_path: Path
) -> None:
    from connectors import municipality
    from gateway.errors import InvalidSignature

    sent = world.run(
        demo.COA, "coa", str(SAMPLES / "coa-export.jsonl"), "--receipts", str(tmp_path / "r.jsonl")
    )
    assert sent.returncode == 0, sent.stderr
    leiden = world.cast.client(demo.LEIDEN)
    delivery = leiden.get_json("/v1/inbox", limit=1)["deliveries"][0]
    assert municipality.verified(leiden, delivery) == delivery
    changed = {**delivery, "withheld_categories": []}
    with pytest.raises(InvalidSignature, match="does not sign this delivery"):
        municipality.verified(leiden, changed)
    with pytest.raises(InvalidSignature):
        municipality.verified(leiden, {k: v for k, v in delivery.items() if k != "delivery_token"})


def test_a_receipts_file_of_one_gateway_is_refused_by_another(world: World) -> None:
    receipts = world.tmp / "coa-export.csv.receipts.jsonl"  # the default, in the working folder
    first = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"))
    assert first.returncode == 0 and receipts.exists(), first.stdout + first.stderr
    assert not (SAMPLES / "coa-export.csv.receipts.jsonl").exists()  # never beside the sample
    with ServerProcess(world.tmp / "other-instance", workers=1, threads=2) as other:
        services = services_for(other.instance)
        cast = demo.register_cast(services, other.url, datetime.now(UTC))
        keys = write_keys(cast, world.tmp / "other-keys")
        again = connector(other.url, demo.COA, keys[demo.COA], "coa",
                          str(SAMPLES / "coa-export.csv"), cwd=world.tmp)  # fmt: skip
        storage_of(services).engine.dispose()
    assert again.returncode == 2, again.stdout + again.stderr
    assert f"holds receipts of gateway {world.server.url}" in again.stderr
    assert f"this is {other.url}" in again.stderr and "--receipts a new file" in again.stderr
    assert "skipped" not in again.stdout


def test_assign_takes_a_csv_and_names_each_refused_line(world: World) -> None:
    sent = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    many = world.run(demo.LEIDEN, "municipality", "assign", "--file",
                     str(SAMPLES / "assignments.csv"))  # fmt: skip
    assert many.returncode == 0, many.stdout + many.stderr
    assert (
        "line 2: assignment " in many.stdout
        and "assignments: 20 recorded, 0 refused" in many.stdout
    )
    rows = (SAMPLES / "assignments.csv").read_text().splitlines()
    in_utrecht = next(p for p, place, _ in samplefiles.newcomers() if place != samplefiles.LEIDEN)
    bad = world.tmp / "bad-assignments.csv"
    bad.write_text(
        "\n".join(
            [
                rows[0],
                rows[1].replace("b1-route", "fast-route"),
                f"{in_utrecht.v_number},,{demo.PROVIDER},b1-route,,",
                rows[2],
            ]
        )
    )
    mixed = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(bad))
    assert mixed.returncode == 1, mixed.stdout + mixed.stderr
    assert "line 2: refused: schema-violation:" in mixed.stdout
    assert "line 3: refused: not-authorised:" in mixed.stdout
    # The first run assigned line 4's newcomer already: receipted, not a second assignment.
    assert "line 4: assignment " in mixed.stdout and "already receipted" in mixed.stdout
    assert "0 recorded, 2 refused, 1 already receipted (nothing sent)" in mixed.stdout


def _one_line_error(result: Any) -> str:
    """The connector's whole complaint: exit 2, one line on stderr, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return str(lines[0])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:8080", "no http:// or https:// in front"),
        ("gateway.example", "no http:// or https:// in front"),
        ("ftp://gateway.example", "ftp:// is not http:// or https://"),
        ("http://", "no host name in it"),
        ("http://127.0.0.1:80808", "the port is not a number"),
    ],
)
def test_a_url_that_is_not_one_is_one_line_naming_it(url: str, says: str, tmp_path: Path) -> None:
    key = tmp_path / "k.jwk"
    key.write_text(json.dumps(jwk.private_jwk(jwk.generate())))
    key.chmod(0o600)
    said = _one_line_error(connector(url, demo.LEIDEN, key, "municipality", "signals"))
    assert said.startswith(f"error: bad-url: --url {url} (GATEWAY_URL): {says}")
    assert "https://gateway.example" in said


def test_a_wrong_base_path_or_a_server_that_is_no_gateway_is_one_line(world: World) -> None:
    wrong = world.server.url + "/v1"
    said = _one_line_error(connector(wrong, demo.LEIDEN, world.keys[demo.LEIDEN],
                                     "municipality", "signals"))  # fmt: skip
    assert said.startswith(f"error: bad-url: no gateway answers at {wrong}: GET /.well-known/")
    assert said.endswith("the gateway's base URL, without the path /v1")

    import functools
    import http.server
    import threading

    (world.tmp / "site").mkdir()
    pages = functools.partial(http.server.SimpleHTTPRequestHandler, directory=world.tmp / "site")
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), pages)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        other = f"http://127.0.0.1:{site.server_address[1]}"
        said = _one_line_error(world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"),
                                         "--url", other))  # fmt: skip
    finally:
        site.shutdown()
        site.server_close()
    assert said.startswith(f"error: bad-url: no gateway answers at {other}: GET /.well-known/")
    assert "HTTP 404 (text/html)" in said
    assert not (world.tmp / "coa-export.csv.receipts.jsonl").exists()  # nothing begun
