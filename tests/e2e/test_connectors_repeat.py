"""Every sending command run twice on the same file sends nothing the second time.

Issue #25, item 3: ``assign``, ``plan``, ``declare``, ``withdraw`` and the
provider's ``send`` keep receipts as the COA export does, keyed by what the
row means, so a repeat says "already receipted" and a changed row sends the
change (the same assignment, the plan's next version); a row with fewer or
more cells than the header is refused by its line and the others go on.
The connectors run as subprocesses against a gateway of this module's own,
so every count of accepted messages below is exact.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.common import exportfile
from gateway.bootstrap import storage_of
from gateway.devtools import demo, samplefiles
from gateway.devtools.serverproc import ServerProcess
from gateway.service.services import Services
from tests.conftest import services_for
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e
SAMPLES = samplefiles.SAMPLES


@dataclass
class World:
    server: ServerProcess
    services: Services
    keys: dict[str, Path]
    tmp: Path

    def run(self, oin: str, *args: str, cwd: Path | None = None) -> Any:
        return connector(self.server.url, oin, self.keys[oin], *args, cwd=cwd or self.tmp)

    def accepted(self, type_: str) -> int:
        return sum(
            1
            for e in storage_of(self.services).audit.entries()
            if e["entry"]["event"] == "message.accepted" and e["entry"]["type"] == type_
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A gateway with the demo's parties and COA's sample export in it."""
    tmp = tmp_path_factory.mktemp("repeat")
    with ServerProcess(tmp / "instance", workers=2, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        world = World(server, services, write_keys(cast, tmp / "keys"), tmp)
        sent = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        yield world
        storage_of(services).engine.dispose()


def _ids(out: str, noun: str) -> list[str]:
    return re.findall(rf"{noun} ([0-9a-f-]{{36}})", out)


def test_assign_file_twice_records_each_assignment_once_and_a_changed_row_changes_it(
    world: World,
) -> None:
    source = SAMPLES / "assignments.csv"
    first = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(source))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "assignments: 20 recorded, 0 refused" in first.stdout
    again = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(source))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "assignments: 0 recorded, 0 refused, 20 already receipted (nothing sent)" in again.stdout
    assert "line 2: assignment " in again.stdout and "already receipted" in again.stdout
    assert _ids(again.stdout, "assignment") == _ids(first.stdout, "assignment")
    assert world.accepted("provider-assignment") == 20

    # Elsewhere, without the receipts file: the same ids, which the gateway already holds.
    elsewhere = world.tmp / "elsewhere"
    elsewhere.mkdir()
    fresh = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(source), cwd=elsewhere)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "20 already at the gateway (nothing sent)" in fresh.stdout
    assert world.accepted("provider-assignment") == 20

    # One row changed (an end date): that row is sent, as the same assignment.
    lines = source.read_text().splitlines()
    lines[1] = lines[1].rstrip(",") + ",2027-11-01T00:00:00Z"
    changed = world.tmp / "changed-assignments.csv"  # the party's receipts know its rows
    changed.write_text("\n".join(lines) + "\n")
    sent = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(changed))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "assignments: 1 recorded, 0 refused, 19 already receipted" in sent.stdout
    assert _ids(sent.stdout, "assignment") == _ids(first.stdout, "assignment")
    assert world.accepted("provider-assignment") == 21
    v_number = lines[1].split(",")[0]
    progress = _progress(world, v_number)
    [in_force] = progress["assignments"]
    assert in_force["valid_until"].startswith("2027-11-01T00:00:00")


def _progress(world: World, v_number: str) -> dict[str, Any]:
    from connectors.common.client import GatewayClient
    from gateway.client import wire

    key = wire.load_jwk_file(str(world.keys[demo.LEIDEN]), private=True)
    client = GatewayClient(world.server.url, demo.LEIDEN, key)
    return client.get_json(f"/v1/newcomers/{v_number}/progress")


def test_a_single_assign_declare_and_withdraw_twice_send_once(world: World) -> None:
    v_number = _leiden_newcomer(21)
    args = ("--provider", demo.PROVIDER, "--route", "b1-route", "--v-number", v_number)
    first = world.run(demo.LEIDEN, "municipality", "assign", *args)
    assert first.returncode == 0 and " recorded (audit index " in first.stdout, first.stderr
    again = world.run(demo.LEIDEN, "municipality", "assign", *args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(first.stdout.split(" recorded")[0] + " already receipted")

    declare = ("declare", str(SAMPLES / "consent-declaration.json"), "--form",
               str(SAMPLES / "consent-form-scan.txt"), "--v-number", v_number)  # fmt: skip
    declared = world.run(demo.LEIDEN, "municipality", *declare)
    assert declared.returncode == 0, declared.stderr
    declaration_id = declared.stdout.split()[1]
    repeated = world.run(demo.LEIDEN, "municipality", *declare)
    assert repeated.returncode == 0, repeated.stderr
    assert repeated.stdout.startswith(f"declaration {declaration_id} already receipted")
    assert world.accepted("consent-declaration") == 1

    withdraw = ("withdraw", "--declaration-id", declaration_id, "--v-number", v_number)
    withdrawn = world.run(demo.LEIDEN, "municipality", *withdraw)
    assert withdrawn.returncode == 0 and "recorded" in withdrawn.stdout, withdrawn.stderr
    twice = world.run(demo.LEIDEN, "municipality", *withdraw)
    assert twice.returncode == 0, twice.stderr
    assert f"withdrawal of {declaration_id} already receipted" in twice.stdout
    assert world.accepted("consent-withdrawal") == 1


def _leiden_newcomer(index: int) -> str:
    """A newcomer placed with Leiden beyond the 20 of the sample's assignments."""
    leiden = [p for p, place, _ in samplefiles.newcomers() if place == samplefiles.LEIDEN]
    return leiden[index].v_number


def test_plan_twice_is_one_plan_and_a_change_is_its_next_version_with_a_reason(
    world: World,
) -> None:
    v_number = _leiden_newcomer(22)
    plan = ("plan", str(SAMPLES / "plan.json"), "--v-number", v_number)
    first = world.run(demo.LEIDEN, "municipality", *plan)
    assert first.returncode == 0, first.stdout + first.stderr
    [plan_id] = _ids(first.stdout, "plan")
    assert f"plan {plan_id} version 1 recorded" in first.stdout
    again = world.run(demo.LEIDEN, "municipality", *plan)
    assert again.returncode == 0, again.stderr
    assert f"plan {plan_id} version 1 already receipted" in again.stdout
    assert world.accepted("integration-plan") == 1

    body = json.loads((SAMPLES / "plan.json").read_text())
    changed = world.tmp / "plan.json"
    changed.write_text(json.dumps({**body, "estimated_hours_b1": 720}))
    no_reason = world.run(demo.LEIDEN, "municipality", "plan", str(changed), "--v-number", v_number)
    assert no_reason.returncode == 2
    assert f"plan {plan_id} version 1 is in force for this newcomer" in no_reason.stderr
    assert "--change-reason" in no_reason.stderr and "Traceback" not in no_reason.stderr
    with_reason = world.run(demo.LEIDEN, "municipality", "plan", str(changed), "--v-number",
                            v_number, "--change-reason", "correctie")  # fmt: skip
    assert with_reason.returncode == 0, with_reason.stdout + with_reason.stderr
    assert f"plan {plan_id} version 2 recorded" in with_reason.stdout
    assert _progress(world, v_number)["plan"]["plan_version"] == 2
    once_more = world.run(demo.LEIDEN, "municipality", "plan", str(changed), "--v-number",
                          v_number, "--change-reason", "correctie")  # fmt: skip
    assert f"plan {plan_id} version 2 already receipted" in once_more.stdout
    assert world.accepted("integration-plan") == 2


def test_the_provider_sends_its_reports_once(world: World) -> None:
    assigned = world.run(demo.LEIDEN, "municipality", "assign", "--file",
                         str(SAMPLES / "assignments.csv"))  # fmt: skip
    assert assigned.returncode == 0, assigned.stdout + assigned.stderr
    source = str(SAMPLES / "progress-reports.csv")
    first = world.run(demo.PROVIDER, "provider", source)
    assert first.returncode == 0, first.stdout + first.stderr
    again = world.run(demo.PROVIDER, "provider", source)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skipped: receipted in an earlier run: 20" in again.stdout
    assert world.accepted("progress-report") == 20


def test_a_short_or_long_row_is_refused_by_line_and_the_others_go_on(world: World) -> None:
    rows = [json.loads(line) for line in (SAMPLES / "coa-export.jsonl").read_text().splitlines()]
    header, *cells = list(csv.reader(io.StringIO(exportfile.csv_text(rows[:4]))))
    cells[1] = cells[1][:10]  # a truncated row: 10 cells of many
    cells[2] = [*cells[2], "extra"]
    export = world.tmp / "truncated.csv"
    with open(export, "w", newline="") as fh:
        csv.writer(fh).writerows([header, *cells])
    before = world.accepted("handover-profile")
    sent = world.run(demo.COA, "coa", str(export))
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert f"line 3: 10 cells where the header has {len(header)} columns: the row is cut" in (
        sent.stdout
    )
    assert f"line 4: {len(header) + 1} cells where the header has {len(header)} columns" in (
        sent.stdout
    )
    # The two whole rows were in the sample already: the gateway holds them.
    assert "already at the gateway (sent by an earlier run; no receipt here): 2" in sent.stdout
    assert world.accepted("handover-profile") == before

    plans = world.tmp / "plans-short.csv"
    sample = (SAMPLES / "plans.csv").read_text().splitlines()
    plans.write_text("\n".join([sample[0], sample[1][:20]]) + "\n")
    refused = world.run(demo.LEIDEN, "municipality", "plan", "--file", str(plans))
    assert refused.returncode == 1
    assert "line 2: refused: " in refused.stdout and "the row is cut short" in refused.stdout


def test_koppelingsdatum_is_sent_as_placement_linked_on(world: World) -> None:
    row = json.loads((SAMPLES / "coa-export.jsonl").read_text().splitlines()[0])
    row["identity"]["v_number"], row["identity"]["bsn"] = "1000000009", "111222333"
    cells = exportfile.flatten(row)
    cells["koppelingsdatum"] = "2026-11-02"
    export = world.tmp / "koppeling.csv"
    export.write_text(",".join(cells) + "\n" + ",".join(_csv_cell(v) for v in cells.values()))
    sent = world.run(demo.COA, "coa", str(export))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    stored = [
        m for m in _accepted_bodies(world, "handover-profile")
        if m["subject"]["v_number"] == "1000000009"
    ]  # fmt: skip
    assert [m["body"]["placement"]["linked_on"] for m in stored] == ["2026-11-02"]


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _accepted_bodies(world: World, type_: str) -> list[dict[str, Any]]:
    from gateway.domain.wire import envelope

    found = []
    for e in storage_of(world.services).audit.entries():
        entry = e["entry"]
        if entry["event"] == "message.accepted" and entry["type"] == type_:
            raw = storage_of(world.services).read_message(entry["message_id"])
            found.append(json.loads(envelope.b64url_decode(raw.decode().split(".")[1])))
    return found
