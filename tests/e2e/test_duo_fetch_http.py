"""``duo-fetch`` against a DUO nobody here wrote (issue #29 item 2): after DUO's
notifications, the municipality's connector asks Prism, serving DUO's own documents, what
DUO's Gebeurtenissen.md names for each event, and hands the answers to the gateway as its
``duo-facts``; the progress read shows them. Every request must be valid by DUO's
documents; a second run asks nothing; DUO in maintenance stops the run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, duostandin
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.duo.prism import DuoMock, Seen
from tests.e2e.trajectories import Trajectory
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e


@dataclass
class World:
    server: ServerProcess
    cast: demo.Cast
    keys: dict[str, Path]
    duo: DuoMock
    answered: Path

    def fetch(self) -> tuple[Any, list[Seen]]:
        """``duo-fetch`` as Leiden runs it; what DUO saw, first asserted valid by its documents."""
        mark = self.duo.mark()
        done = connector(self.server.url, demo.LEIDEN, self.keys[demo.LEIDEN], "municipality",
                         "duo-fetch", "--duo-url", f"{self.duo.url}/v1", "--doel", demo.DUO,
                         "--answered", str(self.answered))  # fmt: skip
        seen = self.duo.requests(mark)
        invalid = [(s.method, s.uri, s.status, s.violations) for s in seen if not s.valid]
        assert not invalid, f"requests DUO's documents do not allow: {invalid}"
        return done, seen


@pytest.fixture
def world(tmp_path: Path, duo_mock: DuoMock) -> Iterator[World]:
    with ServerProcess(tmp_path / "instance", workers=1, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        try:
            yield World(server, cast, write_keys(cast, tmp_path / "keys"), duo_mock,
                        tmp_path / "duo.answered.jsonl")  # fmt: skip
        finally:
            duo_mock.answer({})
            storage_of(services).engine.dispose()
            server.kill()


def _notified(world: World, person: Any, *events: str) -> None:
    duo = world.cast.client(demo.DUO)
    for event in events:
        when = datetime.now(UTC) - timedelta(days=1)
        answer = duostandin.notify(duo, demo.LEIDEN, person.v_number, event, when)
        assert answer.status_code == 201, answer.text


def test_the_facts_behind_each_event_are_asked_once_and_handed_on(world: World) -> None:
    newcomer = Trajectory(world.cast, 9400)
    _notified(world, newcomer.person, "SS139", "SS102", "SS131")
    done, seen = world.fetch()
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
    again, asked_again = world.fetch()
    assert again.returncode == 0 and asked_again == []  # every notification answered
    assert str(newcomer.person.bsn) not in world.answered.read_text()


def test_duo_in_maintenance_stops_the_run_and_the_next_asks_again(world: World) -> None:
    newcomer = Trajectory(world.cast, 9401)
    _notified(world, newcomer.person, "SS102")
    world.duo.answer({r"/inburgeringstermijn": 503})
    stopped, _ = world.fetch()
    assert stopped.returncode == 2 and "503" in stopped.stderr
    assert "Traceback" not in stopped.stderr and str(newcomer.person.bsn) not in stopped.stderr
    world.duo.answer({})
    done, seen = world.fetch()
    assert done.returncode == 0 and [s.uri.rsplit("/", 1)[1] for s in seen] == [
        "inburgeringstermijn"]  # fmt: skip
