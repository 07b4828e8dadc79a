"""The municipality's signals and DUO export, as the connector commands a party runs.

A gateway of its own (so the counts are exact), the connectors as
subprocesses over HTTP; every request file validated against the schemas
written from DUO's published OpenAPI documents (tests/duo).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.errors import SchemaViolation
from tests.conftest import services_for
from tests.duo import SCHEMA, valid
from tests.e2e.trajectories import Trajectory
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e
DUO = "00000001800000000000"  # a synthetic OIN for DUO


@dataclass
class World:
    server: ServerProcess
    cast: demo.Cast
    keys: dict[str, Path]

    def leiden(self, *args: str) -> Any:
        return connector(self.server.url, demo.LEIDEN, self.keys[demo.LEIDEN], "municipality",
                         *args)  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with ServerProcess(tmp_path / "instance", workers=1, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        yield World(server, cast, write_keys(cast, tmp_path / "keys"))
        storage_of(services).engine.dispose()


def test_the_export_writes_duos_requests_for_newcomers_with_a_bsn(
    world: World, tmp_path: Path
) -> None:
    planned = Trajectory(world.cast, 9100)
    assert planned.assign() == 202 and planned.plan(route="b1-route") == 202
    assert planned.report(hours={"language_and_knm": 40, "broad_intake": 12}) == 202
    with pytest.raises(SchemaViolation):  # DUO's rule: no A2 on the onderwijsroute
        planned.plan(2, route="onderwijsroute", level="A2", estimated_hours_b1=None)
    no_bsn = Trajectory(world.cast, 9101, bsn=False)
    assert no_bsn.plan() == 202
    idle = Trajectory(world.cast, 9102)

    out = tmp_path / "duo"
    done = world.leiden("duo-export", "--out", str(out), "--doel", DUO)
    assert done.returncode == 0, done.stderr
    assert "3 requests for 1 newcomer;" in done.stdout and "1 without a BSN" in done.stdout
    bsn = planned.person.bsn
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{bsn}.pip.json", f"{bsn}.uren-participatietaalles.json",
         f"{bsn}.uren-bredeintake-taallesknm.json", "manifest.json"]
    )  # fmt: skip
    ids = set()
    for path in out.glob(f"{bsn}.*.json"):
        request = json.loads(path.read_text())
        described = SCHEMA["operations"][request["operationId"]]
        assert request["method"] == described["method"]
        assert request["path"] == described["path"].format(bsn=bsn)
        valid(described["body"], request["body"])
        valid("Headers", request["headers"])
        assert request["headers"]["bron"] == demo.LEIDEN and request["headers"]["doel"] == DUO
        ids.add(request["headers"]["berichtId"])
    assert len(ids) == 3  # a berichtId of its own per request
    pip = json.loads((out / f"{bsn}.pip.json").read_text())["body"]
    assert pip["leerroute"] == "B" and pip["niveau"] == "B1"  # the refused version never came
    uren = json.loads((out / f"{bsn}.uren-participatietaalles.json").read_text())["body"]
    assert uren == {"uren": 40}

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["without_bsn"] == [no_bsn.person.v_number]
    assert manifest["nothing_to_report"] == [idle.person.v_number]
    assert [e["bsn"] for e in manifest["exported"]] == [bsn]

    requests_before = {p.name: p.read_bytes() for p in out.glob(f"{bsn}.*.json")}
    again = world.leiden("duo-export", "--out", str(out), "--doel", DUO)
    assert again.returncode == 0, again.stderr  # run again: the same messages, byte for byte
    assert {p.name: p.read_bytes() for p in out.glob(f"{bsn}.*.json")} == requests_before
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "notes.txt").write_text("not an export")
    mixed = world.leiden("duo-export", "--out", str(tmp_path / "mixed"), "--doel", DUO)
    assert mixed.returncode == 2 and "other files than an export" in mixed.stderr
    unnamed = world.leiden("duo-export", "--out", str(tmp_path / "other"), "--doel", "DUO")
    assert unnamed.returncode == 2 and "20 digits" in unnamed.stderr


def test_signals_show_a_client_manager_who_needs_attention(world: World) -> None:
    behind = Trajectory(world.cast, 9200)
    assert behind.assign() == 202 and behind.plan(dated=behind.now.date().isoformat()) == 202
    assert behind.report(hours={"language_and_knm": 1}) == 202
    fine = Trajectory(world.cast, 9201)
    assert fine.assign() == 202 and fine.plan() == 202

    at = (behind.now + timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    table = world.leiden("signals", "--at", at)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("2 newcomers placed with you; 2 with signals")
    row = next(line for line in lines if line.startswith(behind.person.v_number))
    assert "behind plan" in table.stdout and "hours expected by now" in table.stdout
    assert "cannot judge" in row or "cannot judge" in table.stdout
    assert max(len(line) for line in lines) <= 100, table.stdout

    listed = json.loads(world.leiden("signals", "--json").stdout)["newcomers"]
    assert {r["v_number"] for r in listed} == {behind.person.v_number, fine.person.v_number}
    assert all(r["bsn"] for r in listed)
