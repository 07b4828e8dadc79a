"""Regie's progress read as a use case over the fake ports: the plan, assignments,
hours and signals of one newcomer, the forecast at a later moment, who may read,
and what each read leaves in the audit log.

Consent comes from the fake consent port and is judged at ``now`` even when the
signals are judged later. The same reads over HTTP on both backends are in
tests/e2e/test_signals_http.py; the signals list is in ``test_regie_signals``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import format_time
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
    fake_store,
    make_services,
    stored,
)
from tests.unit.service.regie_world import (
    ASSIGNMENT,
    DAY,
    PLAN,
    as_role,
    codes,
    declared,
    no_personal_data_recorded,
    recorded,
    reported,
)


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    return make_services(catalog, tmp_path)


# -- progress


def test_progress_answers_the_plan_assignments_hours_and_signals(services: Services) -> None:
    reported(services)
    declared(services)
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
    assert codes(answer) == ["low-attendance", "behind-plan", "dropout-risk"]
    assert answer["unknown_signals"] == []
    by_code = {s["code"]: s for s in answer["signals"]}
    assert by_code["low-attendance"] == {
        "code": "low-attendance",
        "since": format_time(NOW - 3 * DAY),
        "detail": "attendance 50%",
        "values": {"ratio": 0.5},
    }
    assert by_code["behind-plan"]["detail"] == "50 of about 219 hours expected by now"


def test_a_progress_read_is_one_regie_read_entry_naming_the_pseudonym(
    services: Services,
) -> None:
    reported(services)
    regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    [entry] = recorded(services)
    assert {k: entry[k] for k in ("event", "actor", "subject", "reason", "outcome")} == {
        "event": "regie.read",
        "actor": LEIDEN.oin,
        "subject": services.pseudonym(V_ANNA),
        "reason": "progress",
        "outcome": "ok",
    }
    assert (entry["processing_activity"], entry["trace_id"]) == (REGIE, TRACE)
    assert entry["time"] == format_time(NOW)
    no_personal_data_recorded(services, V_ANNA, BSN_ANNA)


def test_without_consent_the_reports_signals_are_unknown_not_guessed(services: Services) -> None:
    reported(services)
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert answer["unknown_signals"] == ["low-attendance", "dropout-risk"]
    assert codes(answer) == ["behind-plan"]  # from the hours, which the law gives
    assert fake_store(services).consent.asked == [(LEIDEN.oin, (services.pseudonym(V_ANNA),))]


def test_nothing_reported_withholds_nothing(services: Services) -> None:
    stored(services, V_ANNA, assignments=[ASSIGNMENT])
    answer = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert answer["unknown_signals"] == []
    assert codes(answer) == ["no-progress"]  # assigned 100 days ago, never a report


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
    reported(services)
    declared(services, withdrawn_at=withdrawn)
    assert regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)["unknown_signals"] == unknown


@pytest.mark.parametrize("where", ["elsewhere", "nowhere"])
def test_a_newcomer_not_placed_with_the_caller_is_refused_and_nothing_recorded(
    services: Services, where: str
) -> None:
    if where == "elsewhere":
        reported(services, placed_with=UTRECHT)
    with pytest.raises(NotAuthorised) as refused:
        regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)
    assert V_ANNA not in str(refused.value.detail)  # the same answer either way
    assert refused.value.detail == "the newcomer is not placed with this municipality"
    assert recorded(services) == []
    assert fake_store(services).consent.asked == []  # nothing of them was looked at


@pytest.mark.parametrize("v_number", ["V123456789", "123456789", "12345678901", "\uff10" * 10])
def test_a_bad_v_number_is_refused_before_anything_is_read(
    services: Services, v_number: str
) -> None:
    with pytest.raises(BadRequest):
        regie.progress(services, LEIDEN, v_number, NOW, TRACE)
    assert fake_store(services).progress.calls == []
    assert recorded(services) == []


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
    reported(services)
    with pytest.raises(BadRequest):
        regie.forecast(NOW, at)
    with pytest.raises(BadRequest):
        regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=at)
    with pytest.raises(BadRequest):
        regie.signals_page(services, LEIDEN, 0, 10, NOW, TRACE, at=at)
    assert fake_store(services).progress.calls == []
    assert recorded(services) == []


def test_a_forecast_judges_the_signals_then(services: Services) -> None:
    stored(services, V_ANNA, placed_at=NOW - 10 * DAY)  # no-plan is due 70 days in
    assert codes(regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE)) == []
    day_before = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 59 * DAY)
    assert codes(day_before) == []
    due = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 60 * DAY)
    assert due["signals"][0]["code"] == "no-plan"
    assert due["signals"][0]["since"] == format_time(NOW + 60 * DAY)
    # Each read is recorded at the moment it was asked, not at the moment forecast.
    assert [e["time"] for e in recorded(services)] == [format_time(NOW)] * 3


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
    reported(services)
    declared(services, valid_from=valid_from, valid_until=valid_until)
    later = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 30 * DAY)
    assert later["unknown_signals"] == unknown


# -- who may read (the policy checks of #27 item 2)


@pytest.mark.parametrize("role", ["provider", "auditor", "coa"])
def test_progress_refuses_a_role_other_than_municipality(services: Services, role: str) -> None:
    reported(services)
    with pytest.raises(NotAuthorised):
        regie.progress(services, as_role(role), V_ANNA, NOW, TRACE)
    assert recorded(services) == [] and fake_store(services).progress.calls == []
