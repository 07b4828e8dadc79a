"""The plan (PIP, Wi2021 art. 15): its versions and DUO's rules for its combinations.

A plan's versions share its ``plan_id``; each next version is the previous
one plus one, dated no earlier, with a reason for the change. The
combination rules are those DUO's M2M API for gemeenten refuses (its
``API/PIP`` rules), so that no plan the gateway takes could be refused when
the municipality reports it. Pure: errors name pointers, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.errors import Conflict, SchemaViolation


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One accepted version of a plan, as the next one is checked against it."""

    plan_id: str
    version: int
    dated: date
    message_id: str


def version_of(body: Mapping[str, Any], message_id: str) -> PlanVersion:
    """The version a schema-valid integration-plan body states."""
    return PlanVersion(
        plan_id=body["plan_id"].lower(),
        version=body["plan_version"],
        dated=date.fromisoformat(body["dated"]),
        message_id=message_id,
    )


def _refuse(pointer: str, keyword: str, detail: str) -> SchemaViolation:
    return SchemaViolation([{"pointer": pointer, "keyword": keyword}], detail=detail)


def check_combination(body: Mapping[str, Any], first_plan: bool) -> None:
    """DUO's combination rules. Raises SchemaViolation at the member at fault.

    ``first_plan``: no plan of this newcomer was accepted before (any plan_id).
    """
    route, level = body["route"], body.get("level")
    if level == "A2" and route == "onderwijsroute":
        raise _refuse(
            "/body/level", "combination", "/body/level: A2 is not a level of the onderwijsroute"
        )
    if level == "B1" and route == "z-route":
        raise _refuse("/body/level", "combination", "/body/level: the z-route has no B1 level")
    if level == "A2" and route == "b1-route" and first_plan:
        raise _refuse(
            "/body/level", "combination",
            "/body/level: a first plan on the b1-route aims at B1 (A2 comes by afschalen)",
        )  # fmt: skip
    if "estimated_hours_b1" in body and route != "b1-route":
        raise _refuse(
            "/body/estimated_hours_b1", "combination",
            "/body/estimated_hours_b1: hours are estimated for the b1-route only",
        )  # fmt: skip


def check_next(plan: PlanVersion, reason: str | None, history: Iterable[PlanVersion]) -> None:
    """The version must be the next of its plan, dated no earlier, with a reason.

    ``history``: this newcomer's accepted plan versions, oldest first.
    Raises Conflict (reason ``plan-version``) for a version that is not the
    next one, SchemaViolation for an earlier date or a missing reason.
    """
    same = [v for v in history if v.plan_id == plan.plan_id]
    previous = max(same, key=lambda v: v.version) if same else None
    expected = 1 if previous is None else previous.version + 1
    if plan.version != expected:
        raise Conflict(
            f"plan_version must be {expected}, the next version of this plan",
            reason="plan-version",
        )
    if previous is None:
        if reason not in (None, "initial"):
            raise _refuse(
                "/body/change_reason", "enum", "/body/change_reason: a first version is initial"
            )
        return
    if reason is None or reason == "initial":
        raise _refuse(
            "/body/change_reason", "required",
            "/body/change_reason: a later version says why it changes",
        )  # fmt: skip
    if plan.dated < previous.dated:
        raise _refuse("/body/dated", "minimum", "/body/dated: before the previous version's")
