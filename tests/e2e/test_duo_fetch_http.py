"""``duo-fetch`` against a DUO nobody here wrote (issue #29 item 2): after DUO's
notifications, the municipality's connector asks Prism, serving DUO's own documents, what
DUO's Gebeurtenissen.md names for each event, and hands the answers to the gateway as its
``duo-facts``; the progress read shows them. Every request must be valid by DUO's
documents; a second run asks nothing; DUO in maintenance stops the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.devtools import demo, duostandin
from tests.duo.prism import Seen
from tests.e2e.duo_world import World, world_fixture  # noqa: F401 - the fixture
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e


def _fetch(world: World) -> tuple[Any, list[Seen]]:
    """``duo-fetch`` as Leiden runs it, with this test's file of answered notifications."""
    return world.run("duo-fetch", "--duo-url", f"{world.duo.url}/v1", "--doel", demo.DUO,
                     "--answered", str(world.folder / "duo.answered.jsonl"))  # fmt: skip


def _fetch_while(world: World, status: int) -> tuple[Any, list[Seen]]:
    """``duo-fetch`` while DUO answers ``status`` for the Inburgeringstermijn."""
    world.duo.answer({r"/inburgeringstermijn": status})
    try:
        return _fetch(world)
    finally:
        world.duo.answer({})


def _notified(world: World, person: Any, *events: str) -> None:
    duo = world.cast.client(demo.DUO)
    for event in events:
        when = datetime.now(UTC) - timedelta(days=1)
        answer = duostandin.notify(duo, demo.LEIDEN, person.v_number, event, when)
        assert answer.status_code == 201, answer.text


def test_the_facts_behind_each_event_are_asked_once_and_handed_on(world: World) -> None:
    newcomer = Trajectory(world.cast, 9400)
    _notified(world, newcomer.person, "SS139", "SS102", "SS131")
    done, seen = _fetch(world)
    assert done.returncode == 0, done.stderr + done.stdout
    asked = sorted(s.uri.split("/personen/")[1].split("/", 1)[1] for s in seen)
    assert asked == ["examens/resultaten", "inburgeringsplicht", "inburgeringstermijn",
                     "lbt/resultaten"]  # fmt: skip
    for request in seen:  # DUO's headers: the municipality as bron, DUO as doel
        assert request.method == "GET"
        assert (request.headers["bron"], request.headers["doel"]) == (demo.LEIDEN, demo.DUO)
        assert f"/personen/{newcomer.person.bsn}/" in request.uri
    progress = world.cast.client(demo.LEIDEN).get_json(
        f"/v1/newcomers/{newcomer.person.v_number}/progress")  # fmt: skip
    facts = progress["duo"]["facts"]
    assert {"inburgeringsplicht", "inburgeringstermijn", "leerbaarheidstoets"} <= set(facts)
    assert progress["duo"]["term_ends"] == facts["inburgeringstermijn"]["einddatum"]
    again, asked_again = _fetch(world)
    assert again.returncode == 0 and asked_again == []  # every notification answered
    assert str(newcomer.person.bsn) not in (world.folder / "duo.answered.jsonl").read_text()


def test_duo_in_maintenance_stops_the_run_and_the_next_asks_again(world: World) -> None:
    newcomer = Trajectory(world.cast, 9401)
    _notified(world, newcomer.person, "SS102")
    world.duo.answer({r"/inburgeringstermijn": 503})
    stopped, _ = _fetch(world)
    assert stopped.returncode == 2 and "503" in stopped.stderr
    assert "Traceback" not in stopped.stderr and str(newcomer.person.bsn) not in stopped.stderr
    world.duo.answer({})
    done, seen = _fetch(world)
    assert done.returncode == 0 and [s.uri.rsplit("/", 1)[1] for s in seen] == [
        "inburgeringstermijn"]  # fmt: skip


def test_a_question_duo_refuses_is_answered_by_its_refusal_and_not_asked_again(
    world: World,
) -> None:
    newcomer = Trajectory(world.cast, 9402)
    _notified(world, newcomer.person, "SS102")
    refused, seen = _fetch_while(world, 403)
    assert refused.returncode == 0, refused.stderr + refused.stdout  # DUO's answer, kept
    assert [s.uri.rsplit("/", 1)[1] for s in seen] == ["inburgeringstermijn"]
    said = refused.stdout + refused.stderr
    assert f"{newcomer.person.v_number} inburgeringstermijn: " in said
    assert str(newcomer.person.bsn) not in said and "Traceback" not in said
    again, asked_again = _fetch(world)
    assert again.returncode == 0 and asked_again == []  # not asked again


def test_a_question_that_failed_is_asked_again_by_the_next_run(world: World) -> None:
    newcomer = Trajectory(world.cast, 9403)
    _notified(world, newcomer.person, "SS102")
    failed, _ = _fetch_while(world, 400)
    assert failed.returncode == 1, failed.stderr + failed.stdout
    assert f"{newcomer.person.v_number} inburgeringstermijn: DUO answered HTTP 400" in (
        failed.stdout)  # fmt: skip
    done, seen = _fetch(world)  # a failure is no answer: asked again
    assert done.returncode == 0 and [s.uri.rsplit("/", 1)[1] for s in seen] == [
        "inburgeringstermijn"]  # fmt: skip
