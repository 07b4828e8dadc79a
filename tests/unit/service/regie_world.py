"""The regie tests' shared facts: a newcomer with a plan, a provider and a report,
Leiden's consent to see them, and how to read what a regie read recorded.

Used by ``test_regie_progress`` (progress and the forecast) and
``test_regie_signals`` (the signals list); the facts come as storage hands
them (``records.Stored``), held by the fake ports of ``fakes``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.domain.assignments import Assignment
from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.parties import Party
from gateway.domain.records import History, Recorded
from gateway.service.services import Services
from tests.unit.service.fakes import (
    BSN_ANNA,
    LEIDEN,
    NOW,
    PROVIDER,
    V_ANNA,
    fake_store,
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


def reported(services: Services, v_number: str = V_ANNA, **kw: Any) -> None:
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


def declared(
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
    fake_store(services).consent.held[(LEIDEN.oin, services.pseudonym(v_number))] = history


def codes(answer: dict[str, Any]) -> list[str]:
    return [s["code"] for s in answer["signals"]]


def recorded(services: Services) -> list[dict[str, Any]]:
    return fake_store(services).audit.entries()


def no_personal_data_recorded(services: Services, *values: str) -> None:
    raw = b"".join(row.data for row in fake_store(services).audit.rows)
    for value in values:
        assert value.encode() not in raw


def as_role(role: str) -> Party:
    """Leiden's OIN in another role: only the role check can refuse it."""
    return Party(LEIDEN.oin, role, "Zelfde OIN, andere rol")
