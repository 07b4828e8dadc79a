"""Each signal appears exactly when its condition holds, at a given clock, and not otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.domain.assignments import Assignment
from gateway.domain.schemas import Catalog
from gateway.domain.signals import Facts, compute, due_dates

PLACED = datetime(2026, 1, 5, tzinfo=UTC)
ALL = frozenset({"attendance", "signals"})
ASSIGNED = Assignment("a", "m", "p", "b1-route", PLACED + timedelta(days=20), None, "active")
PLAN = {"route": "b1-route", "level": "B1", "estimated_hours_b1": 600}


def _codes(
    catalog: Catalog, facts: Facts, at: datetime, visible: frozenset[str] = ALL
) -> list[str]:
    found, unknown = compute(facts, visible, catalog.signals, at)
    return [s.code for s in found] + [f"?{u}" for u in unknown]


CASES = [
    # (what, facts, days after placement, the codes that hold)
    ("placed, no plan yet, within 10 weeks", Facts(PLACED), 69, []),
    ("placed, no plan after 10 weeks", Facts(PLACED), 70, ["no-plan"]),
    (
        "assigned, a report 7 weeks ago",
        Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=50)),
        99,
        [],
    ),
    (
        "assigned, no report for 8 weeks",
        Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=40)),
        96,
        ["no-progress"],
    ),
    (
        "attendance under 80 %",
        Facts(
            PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=60),
            {"attendance": {"hours_planned": 100, "hours_attended": 79}}, 200,
        ),
        61,
        ["low-attendance"],
    ),
    (
        "hours short of the estimate pro rata",
        Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=400),
              {}, 100),
        401,
        ["behind-plan"],
    ),
    (
        "hours on track",
        Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=400),
              {}, 250),
        401,
        [],
    ),
    (
        "under six months of the term left",
        Facts(PLACED, {"route": "z-route"}, date(2026, 2, 1), (), None),
        27 + 1096 - 182,
        ["term-ending"],
    ),
    (
        "the provider reports a high dropout risk",
        Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=60),
              {"signals": {"dropout_risk": "high"}}, 200),
        61,
        ["dropout-risk"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("what", "facts", "days", "codes"), CASES, ids=[c[0] for c in CASES])
def test_a_signal_holds_exactly_when_its_condition_does(
    catalog: Catalog, what: str, facts: Facts, days: int, codes: list[str]
) -> None:
    assert _codes(catalog, facts, PLACED + timedelta(days=days)) == codes


def test_a_signal_stops_holding_when_its_condition_does(catalog: Catalog) -> None:
    late = Facts(PLACED)
    assert _codes(catalog, late, PLACED + timedelta(days=80)) == ["no-plan"]
    planned = Facts(PLACED, PLAN, date(2026, 3, 20))
    assert _codes(catalog, planned, PLACED + timedelta(days=80)) == []


def test_what_may_not_be_seen_is_unknown_never_guessed(catalog: Catalog) -> None:
    facts = Facts(
        PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=60),
        {"attendance": {"hours_planned": 100, "hours_attended": 10}}, 200,
    )  # fmt: skip
    at = PLACED + timedelta(days=61)
    assert _codes(catalog, facts, at) == ["low-attendance"]
    assert _codes(catalog, facts, at, frozenset({"signals"})) == ["?low-attendance"]
    assert _codes(catalog, facts, at, frozenset()) == ["?low-attendance", "?dropout-risk"]


def test_due_dates_are_the_moments_the_signals_hold(catalog: Catalog) -> None:
    """A work list's due dates and the signals are one computation: each clock's due date
    is its signal's ``since`` once it holds, and nothing holds before it."""
    t = catalog.signals
    unplanned = Facts(PLACED)
    [(code, due)] = due_dates(unplanned, t)
    assert (code, due) == ("no-plan", PLACED + timedelta(days=70))
    assert compute(unplanned, ALL, t, due - timedelta(seconds=1))[0] == []
    [held] = compute(unplanned, ALL, t, due)[0]
    assert (held.code, held.since) == ("no-plan", due)
    planned = Facts(PLACED, PLAN, date(2026, 2, 1), (ASSIGNED,), PLACED + timedelta(days=40),
                    term_ends=date(2027, 6, 1))  # fmt: skip
    found = dict(due_dates(planned, t))
    assert set(found) == {"no-progress", "term-ending"}  # planned: no no-plan clock
    assert found["term-ending"] == datetime(2027, 6, 1, tzinfo=UTC) - t.term_ending_within
    assert list(found) == sorted(found, key=found.__getitem__)  # soonest first
