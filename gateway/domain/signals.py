"""Signals for the client manager: computed at read time, from what may be seen then.

Each signal is a pure function of one newcomer's facts at one municipality,
the thresholds of the policy file and the clock (a parameter). A signal
that needs a category the municipality may not see now (attendance,
the provider's signals) is not guessed: it is named in ``unknown``.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway.domain.assignments import Assignment
from gateway.domain.thresholds import Thresholds

CODES = ("no-plan", "no-progress", "low-attendance", "behind-plan", "term-ending", "dropout-risk")
NEEDS = {"low-attendance": "attendance", "dropout-risk": "signals"}
"""signal → the report category it reads, which consent may withhold"""


@dataclass(frozen=True)
class Facts:
    """What the gateway holds about one newcomer placed with one municipality."""

    placed_at: datetime
    plan: Mapping[str, Any] | None = None
    first_plan_dated: date | None = None
    """this municipality's first plan: behind-plan counts from it, against the hours
    reported to this municipality"""
    assignments: tuple[Assignment, ...] = ()
    """in force now"""
    last_report_at: datetime | None = None
    last_report: Mapping[str, Any] = field(default_factory=dict)
    """the newest report's body, cut to what may be seen now"""
    language_hours: int | None = None
    term_started: date | None = None
    """the first plan by any municipality, where the term runs from; None: the first
    plan here was the first"""
    term_ends: date | None = None
    """the end of the term as DUO set it (its Inburgeringstermijn): then the term ends
    there, whatever the plans' dates say"""


@dataclass(frozen=True)
class Signal:
    code: str
    since: datetime
    detail: str
    """in English, for a log or a terminal; a page in another language words ``values``"""
    values: Mapping[str, int | float | str] = field(default_factory=dict)
    """the numbers ``detail`` names, for a reader's own words (profile v1.2)"""


def compute(
    facts: Facts, visible: frozenset[str], thresholds: Thresholds, now: datetime
) -> tuple[list[Signal], list[str]]:
    """The signals that hold at ``now``, and those that cannot be computed.

    ``visible``: the report categories the municipality may see now.
    """
    unknown = [code for code, category in NEEDS.items() if category not in visible]
    found = [
        s
        for s in (
            _no_plan(facts, thresholds, now),
            _no_progress(facts, thresholds, now),
            None if "low-attendance" in unknown else _low_attendance(facts, thresholds, now),
            _behind_plan(facts, thresholds, now),
            _term_ending(facts, thresholds, now),
            None if "dropout-risk" in unknown else _dropout_risk(facts, thresholds),
        )
        if s is not None
    ]
    return found, sorted(unknown, key=CODES.index)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


_NEVER = datetime.max.replace(tzinfo=UTC)


def _later(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, or the end of time where that overflows.

    Total over every date the schemas ever admitted (a plan dated 9999-12-31
    was accepted before dates were bounded): such a clock never runs out.
    """
    try:
        return moment + delta
    except OverflowError:
        return _NEVER


def _no_plan(facts: Facts, t: Thresholds, now: datetime) -> Signal | None:
    due = _later(facts.placed_at, t.no_plan_after)
    if facts.plan is None and now >= due:
        days = (now - facts.placed_at).days
        return Signal("no-plan", due, f"placed {days} days ago, no plan", {"days": days})
    return None


def _no_progress(facts: Facts, t: Thresholds, now: datetime) -> Signal | None:
    if not facts.assignments:
        return None
    began = min(a.valid_from for a in facts.assignments)
    last = max(began, facts.last_report_at) if facts.last_report_at else began
    due = _later(last, t.no_progress_after)
    if now >= due:
        days = (now - last).days
        return Signal("no-progress", due, f"no progress report for {days} days", {"days": days})
    return None


def _low_attendance(facts: Facts, t: Thresholds, now: datetime) -> Signal | None:
    attendance = facts.last_report.get("attendance")
    if not attendance or not attendance.get("hours_planned") or facts.last_report_at is None:
        return None
    ratio = attendance["hours_attended"] / attendance["hours_planned"]
    if ratio < t.low_attendance_below:
        return Signal("low-attendance", facts.last_report_at, f"attendance {ratio:.0%}",
                      {"ratio": round(ratio, 4)})  # fmt: skip
    return None


def _behind_plan(facts: Facts, t: Thresholds, now: datetime) -> Signal | None:
    plan, dated = facts.plan, facts.first_plan_dated
    if not plan or "estimated_hours_b1" not in plan or dated is None:
        return None
    if facts.language_hours is None:
        return None  # no hours reported: nothing to compare, nothing to guess
    elapsed = (now - _start_of(dated)) / t.term
    expected = plan["estimated_hours_b1"] * min(max(elapsed, 0.0), 1.0)
    followed = facts.language_hours
    if expected > 0 and followed < expected * t.behind_plan_below:
        return Signal(
            "behind-plan", now, f"{followed} of about {expected:.0f} hours expected by now",
            {"followed": followed, "expected": round(expected)},
        )
    return None


def _term_ending(facts: Facts, t: Thresholds, now: datetime) -> Signal | None:
    started = facts.term_started or facts.first_plan_dated
    if facts.term_ends is not None:  # DUO's word, not a guess from the plan's date
        end = _start_of(facts.term_ends)
    elif started is None:
        return None
    else:
        end = _later(_start_of(started), t.term)
    due = end if end is _NEVER else end - t.term_ending_within
    if now >= due:
        left = max((end - now).days, 0)
        return Signal("term-ending", due, f"the term ends in {left} days", {"days_left": left})
    return None


def _dropout_risk(facts: Facts, t: Thresholds) -> Signal | None:
    risk = (facts.last_report.get("signals") or {}).get("dropout_risk")
    if risk in t.dropout_risk_levels and facts.last_report_at is not None:
        return Signal("dropout-risk", facts.last_report_at, f"the provider reports {risk} risk",
                      {"level": str(risk)})  # fmt: skip
    return None


def due_dates(facts: Facts, thresholds: Thresholds) -> list[tuple[str, datetime]]:
    """When each clock that runs for this newcomer runs out, soonest first: the moment its
    signal holds (past: it holds now; future: what is coming). The same clocks as
    ``compute`` (a signal's ``since`` is its due date), so a work list and the signals
    never disagree. Clocks that wait on a report's content (attendance, dropout risk) or
    on the plan's hours (behind plan) have no date: they hold when a report says so."""
    t = thresholds
    found: list[tuple[str, datetime]] = []
    if facts.plan is None:
        found.append(("no-plan", _later(facts.placed_at, t.no_plan_after)))
    if facts.assignments:
        began = min(a.valid_from for a in facts.assignments)
        last = max(began, facts.last_report_at) if facts.last_report_at else began
        found.append(("no-progress", _later(last, t.no_progress_after)))
    started = facts.term_started or facts.first_plan_dated
    if facts.term_ends is not None or started is not None:
        end = (_start_of(facts.term_ends) if facts.term_ends is not None
               else _later(_start_of(started), t.term) if started else _NEVER)  # fmt: skip
        found.append(("term-ending", end if end is _NEVER else end - t.term_ending_within))
    return sorted((f for f in found if f[1] is not _NEVER), key=lambda f: f[1])
