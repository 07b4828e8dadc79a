"""The DUO export's bodies against DUO's published schemas, and DUO's rules for a PIP.

Every plan the gateway would accept maps to a PIP body that DUO's schema
accepts; every plan the gateway refuses is refused by the export as well, so
the two can never disagree on DUO's combination rules.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.municipality import duo
from gateway.domain import plans
from gateway.errors import SchemaViolation
from tests.duo import SCHEMA, valid

BSN = "999990019"
LEIDEN, DUO = "00000001002220647000", "00000001800000000000"


_plans = st.fixed_dictionaries(
    {
        "plan_id": st.just(str(uuid.uuid4())),
        "plan_version": st.integers(1, 999),
        "dated": st.dates().map(lambda d: d.isoformat()),
        "route": st.sampled_from(["b1-route", "onderwijsroute", "z-route"]),
    },
    optional={
        "level": st.sampled_from(["A2", "B1"]),
        "estimated_hours_b1": st.integers(1, 9999),
        "may_finish_current_education": st.booleans(),
        "literacy": st.sampled_from(["A", "AA", "NVT"]),
    },
)


@given(_plans)
def test_a_plan_the_gateway_accepts_is_a_pip_duo_accepts_and_no_other(plan: dict[str, Any]) -> None:
    try:
        plans.check_combination(plan, first_plan=False)
    except SchemaViolation:
        with pytest.raises(SchemaViolation):
            duo.pip_body(plan)
        return
    body = duo.pip_body(plan)
    valid("PIP", body)
    assert (
        body["leerroute"] == {"b1-route": "B", "onderwijsroute": "O", "z-route": "Z"}[plan["route"]]
    )
    assert body["dagtekeningPip"] == plan["dated"]


def test_a2_on_the_onderwijsroute_never_becomes_a_pip() -> None:
    plan = {"dated": "2026-11-20", "route": "onderwijsroute", "level": "A2"}
    with pytest.raises(SchemaViolation, match="onderwijsroute"):
        duo.pip_body(plan)


@given(st.dictionaries(st.sampled_from(list(duo.HOURS)), st.integers(0, 9999), min_size=1))
def test_each_kind_of_hours_is_its_own_operation_with_duos_body(totals: dict[str, int]) -> None:
    hours = {
        kind: {"total": total, "message_id": str(uuid.uuid4())} for kind, total in totals.items()
    }
    written = list(duo.hours_bodies(hours))
    assert len(written) == len(totals)
    for operation, body in written:
        described = SCHEMA["operations"][operation.operation_id]
        assert (operation.method, operation.path) == (described["method"], described["path"])
        valid(described["body"], body)
        request = duo.request(operation, BSN, body, LEIDEN, DUO)
        valid("Headers", request["headers"])
        assert request["path"] == described["path"].format(bsn=BSN)


def test_the_pip_operation_is_duos() -> None:
    described = SCHEMA["operations"][duo.PIP.operation_id]
    assert (duo.PIP.method, duo.PIP.path) == (described["method"], described["path"])
