"""``duo-send`` against a DUO nobody here wrote: Prism serving DUO's own OpenAPI documents.

A gateway of its own per test (so what is sent is exactly this test's), the
connector as a subprocess over HTTP, and DUO's base URL the ``duo_mock``
front (tests/duo/prism.py): every request it makes is judged by Prism against
DUO's published document of its API, and each test asserts that none broke it.
DUO's refusal (403) and maintenance (503) are answers DUO's documents list;
the front has Prism give them for chosen paths, still validating the request.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gateway.devtools import demo
from gateway.devtools.serverproc import free_port
from tests.duo.prism import Seen
from tests.e2e.duo_world import World, world_fixture  # noqa: F401 - the fixture
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e
DUO = "00000001800000000000"  # a synthetic OIN for DUO


def _send(
    world: World, duo_url: str | None = None, state: Path | None = None
) -> tuple[Any, list[Seen]]:
    """``duo-send`` to the mock DUO (or ``duo_url``), with this test's state file."""
    url = duo_url or f"{world.duo.url}/v1"
    return world.run("duo-send", "--duo-url", url, "--doel", DUO,
                     "--state", str(state or world.folder / "duo.receipts.jsonl"))  # fmt: skip


def test_duo_send_sends_what_duo_export_writes_once_and_then_only_what_changed(
    world: World, tmp_path: Path
) -> None:
    planned = Trajectory(world.cast, 9300)
    assert planned.assign() == 202 and planned.plan() == 202
    assert planned.report(hours={"language_and_knm": 40, "broad_intake": 12}) == 202
    Trajectory(world.cast, 9301, bsn=False).plan()
    bsn = planned.person.bsn
    assert bsn is not None

    first, seen = _send(world)
    assert first.returncode == 0, first.stderr
    assert "DUO: 3 sent, 0 unchanged, 0 refused, 0 failed, 0 not sent" in first.stdout
    assert "1 newcomer without a BSN left out" in first.stdout
    assert sorted((s.method, s.uri) for s in seen) == [
        ("POST", f"/v1/personen/{bsn}/PIP"),
        ("PUT", f"/v1/personen/{bsn}/uren/bredeintake/taallesknm"),
        ("PUT", f"/v1/personen/{bsn}/uren/participatietaalles"),
    ]
    assert all(s.headers["bron"] == demo.LEIDEN and s.headers["doel"] == DUO for s in seen)
    assert len({s.headers["transaction"] for s in seen}) == 3  # one Fsc-Transaction-Id each
    exported = world.leiden("duo-export", "--out", str(tmp_path / "export"), "--doel", DUO)
    assert exported.returncode == 0, exported.stderr
    files = [json.loads(p.read_text()) for p in (tmp_path / "export").glob(f"{bsn}.*.json")]
    assert sorted((f["method"], "/v1" + f["path"], f["headers"]["berichtId"],
                   json.dumps(f["body"], sort_keys=True)) for f in files) == sorted(
        (s.method, s.uri, s.headers["berichtId"], json.dumps(s.body, sort_keys=True))
        for s in seen
    )  # fmt: skip
    state = (world.folder / "duo.receipts.jsonl").read_bytes()
    assert bsn.encode() not in state and planned.person.v_number.encode() not in state

    again, nothing = _send(world)
    assert again.returncode == 0, again.stderr
    assert "DUO: 0 sent, 3 unchanged" in again.stdout
    assert nothing == []

    assert planned.plan(2, dated="2026-12-01") == 202
    changed, only = _send(world)
    assert changed.returncode == 0, changed.stderr
    assert "DUO: 1 sent, 2 unchanged" in changed.stdout
    (pip,) = only
    assert (pip.method, pip.uri) == ("POST", f"/v1/personen/{bsn}/PIP")
    assert pip.body["dagtekeningPip"] == "2026-12-01"
    assert pip.headers["berichtId"] not in {s.headers["berichtId"] for s in seen}


def test_a_refusal_by_duo_is_kept_with_its_words_and_not_sent_again(world: World) -> None:
    refused, accepted = Trajectory(world.cast, 9310), Trajectory(world.cast, 9311)
    for trajectory in (refused, accepted):
        assert trajectory.assign() == 202 and trajectory.plan() == 202
    world.duo.answer({f"^/v1/personen/{refused.person.bsn}/PIP$": 403})

    first, seen = _send(world)
    assert first.returncode == 1, first.stderr
    assert "DUO: 1 sent, 0 unchanged, 1 refused" in first.stdout
    assert sorted(s.status for s in seen) == [201, 403]  # the refused one as valid
    kept_file = world.folder / "duo.receipts.jsonl"
    records = [json.loads(line) for line in kept_file.read_text().splitlines()]
    (kept,) = [r for r in records if r.get("outcome") == "refused"]
    assert kept["status"] == 403 and kept["answer"] and all(kept["answer"])
    words = kept["answer"][0]  # DUO's fouttekst, as Prism made it from DUO's Foutmelding schema
    line = next(x for x in first.stdout.splitlines() if refused.person.v_number in x)
    assert f"{refused.person.v_number} pip: refused by DUO (now): {words}" in line
    assert str(refused.person.bsn) not in first.stdout + first.stderr

    world.duo.answer({})  # DUO would take it now: still not sent until it changes
    again, nothing = _send(world)
    assert again.returncode == 0, again.stderr
    assert "DUO: 0 sent, 2 unchanged (1 of them refused earlier), 0 refused" in again.stdout
    assert "refused by DUO (earlier, not sent again until it changes)" in again.stdout
    assert nothing == []


def test_duo_in_maintenance_stops_the_run_and_the_next_run_sends_it_all(world: World) -> None:
    waiting = Trajectory(world.cast, 9320)
    assert waiting.assign() == 202 and waiting.plan() == 202
    assert waiting.report(hours={"language_and_knm": 8}) == 202
    world.duo.answer({r"^/v1/personen/[0-9]+/PIP$": 503})

    stopped, seen = _send(world)
    assert stopped.returncode == 2, stopped.stdout + stopped.stderr
    assert "HTTP 503 (Service niet beschikbaar: maintenance) at postPipByBsn" in stopped.stderr
    assert "2 requests not sent" in stopped.stderr and "Traceback" not in stopped.stderr
    assert "DUO: 0 sent, 0 unchanged, 0 refused, 0 failed, 2 not sent" in stopped.stdout
    assert [(s.uri, s.status) for s in seen] == [(f"/v1/personen/{waiting.person.bsn}/PIP", 503)]
    assert str(waiting.person.bsn) not in stopped.stdout + stopped.stderr

    elsewhere = (world.folder / "duo.receipts.jsonl").with_suffix(".x")
    nobody, _ = _send(world, f"http://127.0.0.1:{free_port()}/v1", elsewhere)
    assert nobody.returncode == 2 and "Traceback" not in nobody.stderr
    assert re.search(r"stopped: DUO at http://127\.0\.0\.1:\d+/v1 unreachable: connection "
                     "refused", nobody.stderr), nobody.stderr  # fmt: skip

    world.duo.answer({})
    resumed, seen = _send(world)
    assert resumed.returncode == 0, resumed.stderr
    assert "DUO: 2 sent, 0 unchanged" in resumed.stdout
    assert len(seen) == 2
