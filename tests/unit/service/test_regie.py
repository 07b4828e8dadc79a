"""Regie as use cases over the fake ports: progress against the plan, the signals list,
the forecast, and what each read leaves in the audit log.

The facts come as storage hands them (``records.Stored``); consent comes from the fake
consent port and is judged at ``now`` even when the signals are judged later. The
same reads over HTTP on both backends are in tests/e2e/test_signals_http.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import format_time
from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.parties import Party
from gateway.domain.records import History, Recorded
from gateway.domain.schemas import Catalog
from gateway.domain.vocabulary import REGIE
from gateway.errors import BadRequest, NotAuthorised
from gateway.service import regie
from gateway.service.services import Services
from tests.unit.service.fakes import (
    BSN_ANNA,
    LEIDEN,
    NOW,
    PROVIDER,
    TRACE,
    UTRECHT,
    V_ANNA,
    V_BORIS,
    V_CELIA,
    FakeStore,
    fake_store,
    make_services,
    stored,
)

DAY = timedelta(days=1)

PLAN: dict[str, Any] = {
    "plan_id": "5f1c0f0e-8a44-4f9e-9a40-3b0e6f8f1a01",
    "version": 1,
    "dated": (NOW - 400 * DAY).date().isoformat(),
    "route": "b1-route",
    "level": "B1",
    "estimated_hours_b1": 600,
}
REPORT: dict[str, Any] = {
    "version": 1,
    "body": {
        "enrolment": {"status": "enrolled"},
        "attendance": {"hours_planned": 100, "hours_attended": 50},
        "signals": {"dropout_risk": "high"},
    },
}
ASSIGNMENT = Assignment(
    "a-0001", LEIDEN.oin, PROVIDER.oin, "b1-route", NOW - 100 * DAY, None, "active"
)


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    return make_services(catalog, tmp_path)


def _store(services: Services) -> FakeStore:
    return fake_store(services)


def _reported(services: Services, v_number: str = V_ANNA, **kw: Any) -> None:
    """A newcomer with a plan 400 days old, a provider, and its report of three days ago:
    attendance 50 %, dropout risk high, 50 of about 219 hours expected by now."""
    stored(
        services,
        v_number,
        placed_at=NOW - 500 * DAY,
        bsn=BSN_ANNA,
        plan=PLAN,
        first_plan_dated=(NOW - 400 * DAY).date(),
        assignments=[ASSIGNMENT],
        last_report=("m-report-1", NOW - 3 * DAY, PROVIDER.oin),
        report=REPORT,
        hours={"language_and_knm": (50, "m-report-1")},
        **kw,
    )


def _declared(
    services: Services,
    v_number: str = V_ANNA,
    *,
    valid_from: datetime = NOW - 30 * DAY,
    valid_until: datetime = NOW + 365 * DAY,
    withdrawn_at: datetime | None = None,
) -> None:
    """Leiden's consent to see the provider's attendance and signals, for progress."""
    declaration = Declaration(
        declaration_id="d-0001",
        granted_to=LEIDEN.oin,
        sources=frozenset({PROVIDER.oin}),
        categories=frozenset({"attendance", "signals"}),
        purposes=frozenset({"voortgang"}),
        explicit_health_consent=False,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    withdrawals = []
    if withdrawn_at is not None:
        withdrawal = Withdrawal("d-0001", withdrawn_at)
        withdrawals.append(Recorded(withdrawal, "m-w", LEIDEN.oin, withdrawn_at))
    history = History([Recorded(declaration, "m-d", LEIDEN.oin, valid_from)], withdrawals)
    _store(services).consent.held[(LEIDEN.oin, services.pseudonym(v_number))] = history


def _codes(answer: dict[str, Any]) -> list[str]:
    return [s["code"] for s in answer["signals"]]


def _recorded(services: Services) -> list[dict[str, Any]]:
    return _store(services).audit.entries()


def _no_personal_data_recorded(services: Services, *values: str) -> None:
    raw = b"".join(row.data for row in _store(services).audit.rows)
    for value in values:
        assert value.encode() not in raw


# -- progress


def test_progress_answers_the_plan_assignments_hours_and_signals(services: Services) -> None:
    _reported(services)
    _declared(services)
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert answer["subject"] == {"v_number": V_ANNA, "bsn": BSN_ANNA}
    assert answer["plan"] == PLAN
    assert answer["assignments"] == [
        {
            "assignment_id": "a-0001",
            "provider": PROVIDER.oin,
            "route": "b1-route",
            "valid_from": format_time(NOW - 100 * DAY),
            "valid_until": None,
        }
    ]
    assert answer["hours"] == {"language_and_knm": {"total": 50, "message_id": "m-report-1"}}
    assert answer["placed_on"] == (NOW - 500 * DAY).date().isoformat()
    assert answer["placed_on_source"] == "received"
    assert _codes(answer) == ["low-attendance", "behind-plan", "dropout-risk"]
    assert answer["unknown_signals"] == []
    by_code = {s["code"]: s for s in answer["signals"]}
    assert by_code["low-attendance"] == {
        "code": "low-attendance",
        "since": format_time(NOW - 3 * DAY),
        "detail": "attendance 50%",
    }
    assert by_code["behind-plan"]["detail"] == "50 of about 219 hours expected by now"


def test_a_progress_read_is_one_regie_read_entry_naming_the_pseudonym(
    services: Services,
) -> None:
    _reported(services)
    regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    [entry] = _recorded(services)
    assert {k: entry[k] for k in ("event", "actor", "subject", "reason", "outcome")} == {
        "event": "regie.read",
        "actor": LEIDEN.oin,
        "subject": services.pseudonym(V_ANNA),
        "reason": "progress",
        "outcome": "ok",
    }
    assert (entry["processing_activity"], entry["trace_id"]) == (REGIE, TRACE)
    assert entry["time"] == format_time(NOW)
    _no_personal_data_recorded(services, V_ANNA, BSN_ANNA)


def test_without_consent_the_reports_signals_are_unknown_not_guessed(services: Services) -> None:
    _reported(services)
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert answer["unknown_signals"] == ["low-attendance", "dropout-risk"]
    assert _codes(answer) == ["behind-plan"]  # from the hours, which the law gives
    assert _store(services).consent.asked == [(LEIDEN.oin, (services.pseudonym(V_ANNA),))]


def test_nothing_reported_withholds_nothing(services: Services) -> None:
    stored(services, V_ANNA, assignments=[ASSIGNMENT])
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert answer["unknown_signals"] == []
    assert _codes(answer) == ["no-progress"]  # assigned 100 days ago, never a report


@pytest.mark.parametrize(
    ("withdrawn", "unknown"),
    [
        (NOW - timedelta(seconds=1), ["low-attendance", "dropout-risk"]),
        (NOW, ["low-attendance", "dropout-risk"]),  # from the moment it is withdrawn
        (NOW + DAY, []),  # withdrawn as from tomorrow: still seen today
    ],
    ids=["before", "at", "after"],
)
def test_a_withdrawal_makes_them_unknown_from_its_moment(
    services: Services, withdrawn: datetime, unknown: list[str]
) -> None:
    _reported(services)
    _declared(services, withdrawn_at=withdrawn)
    assert regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)["unknown_signals"] == unknown


@pytest.mark.parametrize("where", ["elsewhere", "nowhere"])
def test_a_newcomer_not_placed_with_the_caller_is_refused_and_nothing_recorded(
    services: Services, where: str
) -> None:
    if where == "elsewhere":
        _reported(services, placed_with=UTRECHT)
    with pytest.raises(NotAuthorised) as refused:
        regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert V_ANNA not in str(refused.value.detail)  # the same answer either way
    assert refused.value.detail == "the newcomer is not placed with this municipality"
    assert _recorded(services) == []
    assert _store(services).consent.asked == []  # nothing of them was looked at


@pytest.mark.parametrize("v_number", ["V123456789", "123456789", "12345678901", "\uff10" * 10])
def test_a_bad_v_number_is_refused_before_anything_is_read(
    services: Services, v_number: str
) -> None:
    with pytest.raises(BadRequest):
        regie.progress(services, LEIDEN, v_number, NOW, TRACE)
    assert _store(services).progress.calls == []
    assert _recorded(services) == []


def test_placed_on_is_coas_linking_day_when_the_profile_gave_one(services: Services) -> None:
    linked = (NOW - 80 * DAY).date()
    stored(services, V_ANNA, placed_at=NOW - DAY, linked_on=linked)
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert (answer["placed_on"], answer["placed_on_source"]) == (linked.isoformat(), "coa")
    assert "bsn" not in answer["subject"]  # COA gave none
    # The no-plan clock runs from COA's day, not from the profile's arrival yesterday.
    [no_plan] = answer["signals"]
    assert no_plan["code"] == "no-plan"
    assert no_plan["since"] == format_time(datetime.combine(linked, time(0), UTC) + 70 * DAY)


# -- the forecast


@pytest.mark.parametrize(
    ("at", "judged"),
    [
        (None, NOW),
        (NOW, NOW),
        (NOW - timedelta(seconds=59), NOW),  # a clock a little behind: judged now
        (NOW - timedelta(minutes=1), NOW),  # the slack's edge
        (NOW + 30 * DAY, NOW + 30 * DAY),
        (NOW + timedelta(days=1096), NOW + timedelta(days=1096)),  # a term ahead, at most
    ],
)
def test_a_forecast_is_now_or_a_later_moment(at: datetime | None, judged: datetime) -> None:
    assert regie.forecast(NOW, at) == judged


@pytest.mark.parametrize(
    "at",
    [
        NOW - timedelta(minutes=1, microseconds=1),
        NOW - 30 * DAY,
        NOW + timedelta(days=1096, microseconds=1),
    ],
    ids=["past-the-slack", "a-month-ago", "beyond-a-term"],
)
def test_a_forecast_in_the_past_or_beyond_a_term_is_refused_before_any_read(
    services: Services, at: datetime
) -> None:
    _reported(services)
    with pytest.raises(BadRequest):
        regie.forecast(NOW, at)
    with pytest.raises(BadRequest):
        regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=at)
    with pytest.raises(BadRequest):
        regie.signals_page(services, LEIDEN, 0, 10, NOW, TRACE, at=at)
    assert _store(services).progress.calls == []
    assert _recorded(services) == []


def test_a_forecast_judges_the_signals_then(services: Services) -> None:
    stored(services, V_ANNA, placed_at=NOW - 10 * DAY)  # no-plan is due 70 days in
    assert _codes(regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)) == []
    day_before = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 59 * DAY)
    assert _codes(day_before) == []
    due = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 60 * DAY)
    assert due["signals"][0]["code"] == "no-plan"
    assert due["signals"][0]["since"] == format_time(NOW + 60 * DAY)
    # Each read is recorded at the moment it was asked, not at the moment forecast.
    assert [e["time"] for e in _recorded(services)] == [format_time(NOW)] * 3


def test_a_forecast_lists_the_assignments_in_force_then(services: Services) -> None:
    ending = Assignment("a-0002", LEIDEN.oin, PROVIDER.oin, "b1-route", NOW - DAY, NOW + 5 * DAY,
                        "active")  # fmt: skip
    stored(services, V_ANNA, assignments=[ending])
    assert len(regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)["assignments"]) == 1
    later = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 10 * DAY)
    assert later["assignments"] == []


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "unknown"),
    [
        (NOW + DAY, NOW + 365 * DAY, ["low-attendance", "dropout-risk"]),  # not yet valid now
        (NOW - 30 * DAY, NOW + DAY, []),  # valid now, expired by the forecast
    ],
    ids=["valid-only-later", "expired-later"],
)
def test_a_forecast_judges_consent_now(
    services: Services, valid_from: datetime, valid_until: datetime, unknown: list[str]
) -> None:
    """A forecast never shows what may not be seen today, nor hides what may."""
    _reported(services)
    _declared(services, valid_from=valid_from, valid_until=valid_until)
    later = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 30 * DAY)
    assert later["unknown_signals"] == unknown


# -- the signals list


def _three_at_leiden_one_at_utrecht(services: Services) -> None:
    stored(services, V_ANNA, placement=10, placed_at=NOW - 80 * DAY)
    stored(services, V_BORIS, placement=20, placed_at=NOW - 5 * DAY)
    stored(services, "4444444444", placement=15, placed_with=UTRECHT)
    stored(services, V_CELIA, placement=30, placed_at=NOW - DAY, linked_on=date(2026, 11, 1))


def test_the_signals_list_pages_through_the_callers_newcomers_in_placing_order(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    first = regie.signals_page(services, LEIDEN, 0, 2, NOW, TRACE)
    assert [n["v_number"] for n in first.newcomers] == [V_ANNA, V_BORIS]
    assert first.next_cursor == 20
    second = regie.signals_page(services, LEIDEN, first.next_cursor, 2, NOW, TRACE)
    assert [n["v_number"] for n in second.newcomers] == [V_CELIA]
    assert second.next_cursor == 30
    last = regie.signals_page(services, LEIDEN, second.next_cursor, 2, NOW, TRACE)
    assert (last.newcomers, last.next_cursor) == ([], 30)
    anna, boris = first.newcomers
    assert _codes(anna) == ["no-plan"] and _codes(boris) == []
    assert anna["placed_at"] == format_time(NOW - 80 * DAY)
    assert second.newcomers[0]["placed_on"] == "2026-11-01"
    assert second.newcomers[0]["placed_on_source"] == "coa"
    assert [asked for asked, _ in _store(services).consent.asked] == [LEIDEN.oin] * 2


def test_each_newcomer_listed_is_one_regie_read_and_an_empty_page_none(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    regie.signals_page(services, LEIDEN, 0, 2, NOW, TRACE)
    regie.signals_page(services, LEIDEN, 20, 2, NOW, TRACE)
    regie.signals_page(services, LEIDEN, 30, 2, NOW, TRACE)
    recorded = _recorded(services)
    assert [(e["event"], e["reason"], e["actor"]) for e in recorded] == [
        ("regie.read", "signals", LEIDEN.oin)
    ] * 3
    assert [e["subject"] for e in recorded] == [
        services.pseudonym(v) for v in (V_ANNA, V_BORIS, V_CELIA)
    ]
    assert _store(services).committed == 2  # one write a page, none for the empty one
    _no_personal_data_recorded(services, V_ANNA, V_BORIS, V_CELIA, "4444444444")


def test_a_municipality_with_no_newcomers_gets_an_empty_page_at_its_cursor(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    other = Party("00000009990000000009", "municipality", "Gemeente Elders", "GM0999")
    page = regie.signals_page(services, other, 7, 100, NOW, TRACE)
    assert (page.newcomers, page.next_cursor) == ([], 7)
    assert _recorded(services) == [] and _store(services).consent.asked == []


def test_the_signals_list_forecasts_and_cuts_as_progress_does(services: Services) -> None:
    _reported(services, placement=5)
    stored(services, V_BORIS, placement=6, placed_at=NOW - 10 * DAY)
    page = regie.signals_page(services, LEIDEN, 0, 10, NOW, TRACE, at=NOW + 60 * DAY)
    anna, boris = page.newcomers
    assert anna["unknown_signals"] == ["low-attendance", "dropout-risk"]  # no consent
    assert _codes(boris) == ["no-plan"]
    one = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 60 * DAY)
    assert {k: anna[k] for k in ("signals", "unknown_signals", "placed_on")} == {
        k: one[k] for k in ("signals", "unknown_signals", "placed_on")
    }


# -- who may read (the policy checks of #27 item 2)


def _as(role: str) -> Party:
    """Leiden's OIN in another role: only the role check can refuse it."""
    return Party(LEIDEN.oin, role, "Zelfde OIN, andere rol")


@pytest.mark.parametrize("role", ["provider", "auditor", "coa"])
def test_progress_refuses_a_role_other_than_municipality(services: Services, role: str) -> None:
    _reported(services)
    with pytest.raises(NotAuthorised):
        regie.progress(services, _as(role), V_ANNA, NOW, TRACE)
    assert _recorded(services) == [] and _store(services).progress.calls == []


@pytest.mark.parametrize("role", ["provider", "auditor", "coa"])
def test_the_signals_list_refuses_a_role_other_than_municipality(
    services: Services, role: str
) -> None:
    _reported(services)
    with pytest.raises(NotAuthorised):
        regie.signals_page(services, _as(role), 0, 10, NOW, TRACE)
    assert _recorded(services) == [] and _store(services).progress.calls == []
