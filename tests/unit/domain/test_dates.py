"""Every date a message carries is one the domain can compute with (issue #26).

A schema-valid date could be year 0 (a ValueError at intake: a 500 for the
whole group commit) or 9999 (an OverflowError in every later read of it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.domain import dates, signals
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import format_time
from gateway.domain.schemas import Catalog
from gateway.domain.thresholds import Thresholds

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-12-06", True), ("1900-01-01", True), ("2100-12-31", True), ("0000-01-01", False),
     ("0001-01-01", False), ("1899-12-31", False), ("2101-01-01", False), ("9999-12-31", False),
     ("2026-02-29", False), ("2024-02-29", True), ("2026-1-01", False),
     ("\uff12\uff10\uff12\uff16-12-06", False)],  # full-width digits
)  # fmt: skip
def test_a_date_is_a_calendar_day_from_1900_to_2100(text: str, ok: bool) -> None:
    assert dates.is_date(text) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-12-06T10:00:00Z", True), ("2026-12-06T10:00:00.123456Z", True),
     ("2026-12-06T23:59:60Z", False), ("9999-12-31T23:59:59Z", False),
     ("0000-01-01T00:00:00Z", False), ("2026-12-06T10:00:00", False),
     ("2026-13-06T10:00:00Z", False)],
)  # fmt: skip
def test_a_time_is_rfc_3339_that_python_can_hold(text: str, ok: bool) -> None:
    assert dates.is_date_time(text) is ok


def test_the_schemas_refuse_a_date_out_of_range_at_its_pointer(catalog: Catalog) -> None:
    schema = catalog.bodies[("integration-plan", 1)]
    assert not schema.validator.is_valid({"dated": "0000-01-01"})
    errors = list(schema.validator.iter_errors({"dated": "9999-12-31"}))
    assert any(list(e.instance_path) == ["dated"] for e in errors)


def test_a_time_is_spelt_with_four_digits_of_year() -> None:
    assert format_time(datetime(3, 7, 3, tzinfo=UTC)) == "0003-07-03T00:00:00.000000Z"


THRESHOLDS = Thresholds(
    no_plan_after=timedelta(days=70), no_progress_after=timedelta(days=56),
    low_attendance_below=0.8, behind_plan_below=0.75, term=timedelta(days=1096),
    term_ending_within=timedelta(days=183), dropout_risk_levels=frozenset({"high"}),
)  # fmt: skip


@example(dated=date(9999, 12, 31), placed=datetime(9999, 12, 30))
@example(dated=date(1, 1, 1), placed=datetime(1, 1, 2))
@given(
    dated=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    placed=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
)
def test_signals_are_total_over_every_date_a_schema_ever_admitted(
    dated: date, placed: datetime
) -> None:
    """Facts stored before dates were bounded must still be readable."""
    when = placed.replace(tzinfo=UTC)
    assigned = Assignment("a", "m", "p", "b1-route", when, None, "active")
    facts = signals.Facts(
        placed_at=when, plan={"estimated_hours_b1": 600}, first_plan_dated=dated,
        assignments=(assigned,), language_hours=10, term_started=dated,
    )  # fmt: skip
    found, _ = signals.compute(facts, frozenset(signals.NEEDS.values()), THRESHOLDS, NOW)
    for signal in found:
        format_time(signal.since)
