"""The four connectors as subprocesses, over HTTP, through the whole scenario.

One story, told as its steps: COA sends, Leiden assigns and records consent, the
provider reports, Leiden pulls, withdraws and acts on the notice, plans, the provider
pulls the brief, and the auditor verifies and watches. What the connectors refuse
is in ``test_connector_refusals``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, samplefiles, synthetic
from gateway.domain.wire import envelope
from tests.e2e.connector_world import SAMPLES, World, messages_of, own_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with own_gateway(tmp_path) as built:
        yield built


def _coa_sends_its_export(world: World) -> None:
    """COA sends its export; a second run sends nothing again."""
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
    assert messages_of(world.services, "handover-profile") == 60


def _leiden_assigns_two(world: World, reported: list[dict[str, Any]]) -> None:
    """Leiden assigns the first two reported newcomers to the provider."""
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


def _leiden_declares_consent(world: World, v_number: str) -> str:
    """Leiden records consent for one newcomer, with the scanned form; the declaration id."""
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
        v_number,
    )
    assert declared.returncode == 0, declared.stderr
    return str(declared.stdout.split()[1])


def _provider_sends_its_reports(world: World) -> None:
    """The provider sends its 20 reports: 2 are for assigned newcomers, 18 are refused by row."""
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
    assert messages_of(world.services, "progress-report") == 2


Pulled = tuple[Path, dict[str, dict[str, Any]], dict[str, Any]]
"""the inbox folder, its files by stem, and the consented newcomer's profile delivery"""


def _leiden_pulls(world: World, reported: list[dict[str, Any]], expected: int) -> Pulled:
    """Leiden pulls into a folder: its profiles and both reports, each verified and acked."""
    inbox = world.tmp / "leiden-inbox"
    pulled = world.run(demo.LEIDEN, "municipality", "pull", "--out", str(inbox))
    assert pulled.returncode == 0, pulled.stderr
    files = {p.stem: json.loads(p.read_text()) for p in inbox.glob("*.json")}
    assert len(files) == expected
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
    return inbox, files, consented


def _leiden_withdraws(world: World, v_number: str, declaration_id: str) -> None:
    """Leiden withdraws the consent; both records are listed, the form's digest kept."""
    withdrawn = world.run(
        demo.LEIDEN,
        "municipality",
        "withdraw",
        "--declaration-id",
        declaration_id,
        "--v-number",
        v_number,
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    records = world.cast.client(demo.LEIDEN).get_json("/v1/consents", v_number=v_number)["consents"]
    assert [r["kind"] for r in records] == ["withdrawal", "declaration"]
    listed = world.run(demo.LEIDEN, "municipality", "consents", "--v-number", v_number)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{declaration_id}  from ") and "withdrawn " in listed.stdout
    raw = storage_of(world.services).read_message(records[1]["message_id"])
    body = json.loads(envelope.b64url_decode(raw.decode().split(".")[1]))["body"]
    assert body["evidence_sha256"] == _sha256(SAMPLES / "consent-form-scan.txt")


def _the_folder_acts_on_the_notice(world: World, pulled: Pulled, declaration_id: str) -> None:
    """The next pull brings the withdrawal notice; the folder acts on it."""
    inbox, files, consented = pulled
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


def _leiden_plans_and_the_provider_pulls_the_brief(world: World, v_number: str) -> None:
    """Leiden plans for an assigned newcomer; the provider pulls the brief."""
    planned = world.run(
        demo.LEIDEN, "municipality", "plan", str(SAMPLES / "plan.json"), "--v-number", v_number
    )
    assert planned.returncode == 0, planned.stderr
    assert "version 1 recorded" in planned.stdout
    briefs = world.tmp / "briefs"
    pulled_briefs = world.run(demo.PROVIDER, "provider", "pull", "--out", str(briefs))
    assert pulled_briefs.returncode == 0, pulled_briefs.stderr
    [brief_file] = briefs.glob("*.json")
    assert brief_file.name.startswith(f"brief-{v_number}-plan-v1-")
    brief = json.loads(brief_file.read_text())
    assert brief["body"]["route"] == "b1-route" and "participation_goals" not in brief["body"]


def _leiden_plans_from_a_csv(world: World) -> None:
    """Many plans from a CSV: the sample's rows are the sample's first two reported newcomers.
    The second has plan.json's plan in force: another first version is not a second plan."""
    many = world.run(demo.LEIDEN, "municipality", "plan", "--file", str(SAMPLES / "plans.csv"))
    assert many.returncode == 1, many.stdout + many.stderr
    assert "line 2: plan " in many.stdout  # as a sheet shows
    assert "line 3: refused: not-sent: plan " in many.stdout
    assert "version 1 is in force for this newcomer and this plan changes it" in many.stdout
    assert "plans: 1 recorded, 1 refused" in many.stdout


def _the_auditor_verifies_and_watches(world: World) -> None:
    """A first watch, with nothing remembered, says it has nothing to compare with yet;
    then the auditor verifies the whole log and watches it grow."""
    fresh = world.run(demo.AUDITOR, "auditor", "watch", "--state", str(world.tmp / "new.state"),
                      "--once")  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr
    assert "first checkpoint, signature good" in fresh.stdout
    assert "nothing to compare it with yet" in fresh.stdout and "consistent" not in fresh.stdout
    state = world.tmp / "auditor.state"
    verified = world.run(demo.AUDITOR, "auditor", "verify", "--state", str(state))
    assert verified.returncode == 0, verified.stderr
    watched = world.run(demo.AUDITOR, "auditor", "watch", "--state", str(state), "--once")
    assert watched.returncode == 0, watched.stderr
    assert "consistent: tree size" in watched.stdout


def test_the_whole_scenario_through_the_connectors(world: World) -> None:
    people = samplefiles.newcomers()
    leiden_people = [p for p, place, _ in people if place == samplefiles.LEIDEN]
    reported = [
        json.loads(line)["subject"]
        for line in (SAMPLES / "progress-reports.jsonl").read_text().splitlines()
    ]
    _coa_sends_its_export(world)
    _leiden_assigns_two(world, reported)
    declaration_id = _leiden_declares_consent(world, reported[0]["v_number"])
    _provider_sends_its_reports(world)
    pulled = _leiden_pulls(world, reported, len(leiden_people) + 2)
    _leiden_withdraws(world, reported[0]["v_number"], declaration_id)
    _the_folder_acts_on_the_notice(world, pulled, declaration_id)
    _leiden_plans_and_the_provider_pulls_the_brief(world, reported[1]["v_number"])
    _leiden_plans_from_a_csv(world)
    _the_auditor_verifies_and_watches(world)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
