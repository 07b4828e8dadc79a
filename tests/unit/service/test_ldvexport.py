"""The logbook's guard: refuses past the grace with the exporter's cause, asks the store
once a second, and a refusal is a new exception each time (threads share the cache)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.records import LogbookLag, Unrecorded
from gateway.errors import LogbookUnwritable
from gateway.service.ldvexport import LogbookExport
from tests.unit.clock import Clock
from tests.unit.fake_ldv import FakeLdv


class Lagging(FakeLdv):
    def __init__(self) -> None:
        self.since: datetime | None = None
        self.failing: str | None = None
        self.asked = 0

    def lag(self) -> LogbookLag:
        self.asked += 1
        return LogbookLag(self.since, self.failing)


class NoLogbook:
    def write(self, entries: object) -> None:
        raise AssertionError("the guard writes nothing")

    def last(self) -> None:
        return None


def test_the_guard_refuses_past_the_grace_with_the_cause_and_asks_once_a_second() -> None:
    port, clock = Lagging(), Clock()
    export = LogbookExport(port, NoLogbook(), timedelta(seconds=10), monotonic=clock)
    port.since = datetime.now(UTC) - timedelta(seconds=3)
    export.guard()  # within the grace
    port.since, port.failing = datetime.now(UTC) - timedelta(seconds=30), "disk full"
    export.guard()  # the answer of a second ago still stands
    assert port.asked == 1
    clock.now += 1.0
    refusals = []
    for _ in range(2):
        with pytest.raises(LogbookUnwritable, match="disk full") as refused:
            export.guard()
        refusals.append(refused.value)
    assert port.asked == 2 and refusals[0] is not refusals[1]
    assert refusals[0].status == 503 and refusals[0].cause == "disk full"
    port.failing = None
    clock.now += 1.0
    with pytest.raises(LogbookUnwritable, match="behind"):  # no exporter keeps up
        export.guard()
    port.since = None
    clock.now += 1.0
    export.guard()


class Waiting(FakeLdv):
    """One entry waits for its record; the failure is kept as the store would."""

    def __init__(self) -> None:
        self.failing: list[str] = []

    def pending(self, limit: int) -> Unrecorded:
        return Unrecorded(0, 1, [(0, b"{}")][:limit])

    def failed(self, cause: str) -> None:
        self.failing.append(cause)


class FullDisk:
    def __init__(self) -> None:
        self.writes = 0

    def write(self, entries: object) -> None:
        self.writes += 1
        raise LogbookUnwritable("disk full")

    def last(self) -> None:
        return None


def test_after_a_failed_round_the_next_is_a_second_away() -> None:
    port, logbook, clock = Waiting(), FullDisk(), Clock()
    export = LogbookExport(port, logbook, timedelta(seconds=10), monotonic=clock)
    assert export.tick() == 0 and logbook.writes == 1 and port.failing == ["disk full"]
    clock.now += 0.5
    assert export.tick() == 0 and logbook.writes == 1  # quiet: not told again yet
    clock.now += 0.6
    assert export.tick() == 0 and logbook.writes == 2
