"""The logbook's guard: refuses past the grace with the exporter's cause, asks the store
once a second, and a refusal is a new exception each time (threads share the cache)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.records import LogbookLag
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
