"""The logbook's guard: refuses past the grace with the exporter's cause, asks the store
once a second, and a refusal is a new exception each time (threads share the cache)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.records import LogbookLag, Unrecorded
from gateway.errors import LogbookUnwritable
from gateway.service import ldvexport
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


class Backlog(FakeLdv):
    """Ten entries to record; the lease is this process's at the first take only."""

    def __init__(self) -> None:
        self.start, self.takes, self.given_back = 0, 0, 0

    def pending(self, limit: int) -> Unrecorded:
        end = min(10, self.start + limit)
        return Unrecorded(self.start, end, [(i, b"{}") for i in range(self.start, end)])

    def advance(self, start: int, end: int) -> bool:
        self.start = end
        return True

    def take_lease(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        self.takes += 1
        return self.takes == 1

    def give_back(self, name: str, holder: str) -> None:
        self.given_back += 1


class Slow:
    """Each write takes three seconds of the exporter's clock: longer than half a lease."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def write(self, entries: object) -> None:
        self.clock.now += 3.0

    def last(self) -> None:
        return None


def test_a_long_backlog_stops_where_the_lease_ran_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process takes a lease that ran out: writing on would write its batches too."""
    monkeypatch.setattr(ldvexport, "BATCH", 2)
    port, clock = Backlog(), Clock()
    export = LogbookExport(port, Slow(clock), timedelta(seconds=10), monotonic=clock)
    assert export.flush() == 2 and port.start == 2 and port.takes == 2


def test_a_holder_whose_round_failed_gives_the_lease_back() -> None:
    """On PostgreSQL each instance writes a logbook of its own: a full disk at one must not
    keep the others, which could write, from taking over."""
    port, logbook, clock = GivingBack(), FullDisk(), Clock()
    export = LogbookExport(port, logbook, timedelta(seconds=10), monotonic=clock)
    assert export.tick(force=True) == 0 and port.given == ["logbook"]
    export.stop()  # not holding it now: nothing more to give back
    assert port.given == ["logbook"]


class GivingBack(Waiting):
    def __init__(self) -> None:
        super().__init__()
        self.given: list[str] = []

    def give_back(self, name: str, holder: str) -> None:
        self.given.append(name)
