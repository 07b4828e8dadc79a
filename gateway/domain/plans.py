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
from datetime import date, timedelta
from typing import Any

from gateway.domain.dates import WI2021_START
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


def check_next(plan: PlanVersion, reason: str | None, history: Iterable[PlanVersion]) -> bool:
    """The version must be the next of its plan, dated no earlier, with a reason.

    Only a ``correctie`` may date it earlier (a wrong dagtekening is corrected,
    not carried along): True when it does, for the audit entry to say so.

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
        return False
    if reason is None or reason == "initial":
        raise _refuse(
            "/body/change_reason", "required",
            "/body/change_reason: a later version says why it changes",
        )  # fmt: skip
    if plan.dated < previous.dated and reason != "correctie":
        raise _refuse(
            "/body/dated", "minimum",
            "/body/dated: before the previous version's (only a correctie may move it back)",
        )  # fmt: skip
    return plan.dated < previous.dated


def check_dated(plan: PlanVersion, today: date) -> None:
    """A dagtekening the Wet inburgering 2021 can mean: not before it, at most a year ahead.

    Raises SchemaViolation at /body/dated.
    """
    latest = today + timedelta(days=366)
    if not WI2021_START <= plan.dated <= latest:
        raise _refuse(
            "/body/dated", "range",
            f"/body/dated: from {WI2021_START.isoformat()} (the Wet inburgering 2021) "
            "to a year from today",
        )  # fmt: skip


def check_owner(
    plan: PlanVersion, owner: tuple[str, str] | None, subject: str, municipality: str,
    in_force: Iterable[tuple[str, PlanVersion]],
) -> None:  # fmt: skip
    """One plan per newcomer and municipality, and a plan_id is its own plan's alone.

    ``owner``: the (subject, municipality) of the plan that already has this
    plan_id, if any; ``in_force``: this newcomer's versions with their
    municipality, oldest first. Raises Conflict (``plan-id-taken``) for a
    plan_id of another newcomer's or municipality's plan, Conflict
    (``plan-exists``) for a new plan_id where this municipality has a plan.
    """
    if owner is not None and owner != (subject, municipality):
        raise Conflict(
            "plan_id belongs to another plan; a new plan takes a new plan_id",
            reason="plan-id-taken",
        )
    ours = [v for m, v in in_force if m == municipality and v.plan_id != plan.plan_id]
    if owner is None and ours:
        current = max(ours, key=lambda v: v.version)
        raise Conflict(
            f"this newcomer has a plan from this municipality: plan_id {current.plan_id} "
            f"is in force; send its next version ({current.version + 1}) instead",
            reason="plan-exists",
        )
