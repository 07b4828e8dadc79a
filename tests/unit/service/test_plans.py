"""The plan (PIP) as a use case: DUO's combinations, versions, and the provider's briefs.

Over in-memory ports; the same rules over HTTP on both backends are in
tests/e2e/test_plans_http.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.devtools import demo
from gateway.domain.schemas import Catalog
from gateway.errors import Conflict, NotAuthorised, SchemaViolation
from gateway.service import inbox
from tests.unit.world import NOW, TRACE, World, make_world


@pytest.fixture
def world(catalog: Catalog, tmp_path: Path) -> World:
    w = make_world(catalog, tmp_path)
    w.accept(w.profile())  # placed with Leiden
    return w


def _briefs(
    world: World, at: timedelta = timedelta(0), provider: str = demo.PROVIDER
) -> list[dict[str, Any]]:
    party = world.store.state.parties[provider]
    return inbox.pull(world.services, party, 0, 100, NOW + at, TRACE).deliveries


COMBINATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "A2 on the onderwijsroute": ({"route": "onderwijsroute", "level": "A2",
                                  "estimated_hours_b1": None}, "/body/level"),
    "B1 on the z-route": ({"route": "z-route", "level": "B1", "estimated_hours_b1": None},
                          "/body/level"),
    "A2 on the b1-route, first plan": ({"level": "A2"}, "/body/level"),
    "hours off the b1-route": ({"route": "z-route", "level": None}, "/body/estimated_hours_b1"),
}  # fmt: skip


@pytest.mark.parametrize("case", COMBINATIONS, ids=list(COMBINATIONS))
def test_duos_combinations_are_refused_at_their_member(world: World, case: str) -> None:
    members, pointer = COMBINATIONS[case]
    with pytest.raises(SchemaViolation) as refused:
        world.accept(world.plan(**members))
    assert [e["pointer"] for e in refused.value.errors] == [pointer]
    assert world.refusals()[-1] == ("schema-violation", demo.LEIDEN)


def test_a2_on_the_b1_route_is_fine_after_the_first_plan(world: World) -> None:
    assert world.accept(world.plan()).status == 202
    assert world.accept(world.plan(2, level="A2", change_reason="afschalen")).status == 202


def test_versions_go_one_by_one_never_back_in_time_with_a_reason(world: World) -> None:
    with pytest.raises(SchemaViolation) as reason:
        world.accept(world.plan(change_reason="schakelen"))  # a first version is initial
    assert reason.value.errors[0]["pointer"] == "/body/change_reason"
    with pytest.raises(Conflict) as skipped:
        world.accept(world.plan(2))
    assert skipped.value.reason == "plan-version"
    assert world.accept(world.plan()).status == 202
    with pytest.raises(Conflict):
        world.accept(world.plan(1, dated="2026-11-21"))  # version 1 again
    with pytest.raises(SchemaViolation) as earlier:
        world.accept(world.plan(2, dated="2026-11-19"))
    assert earlier.value.errors[0]["pointer"] == "/body/dated"
    with pytest.raises(SchemaViolation) as reasonless:
        world.accept(world.plan(2, change_reason=None))
    assert reasonless.value.errors[0]["pointer"] == "/body/change_reason"
    assert world.accept(world.plan(2, route="z-route", level="A2", estimated_hours_b1=None))


def test_a_plan_for_a_newcomer_placed_elsewhere_is_refused(world: World) -> None:
    world.accept(world.profile(recipient=demo.UTRECHT, municipality_code="GM0344"))
    with pytest.raises(NotAuthorised):
        world.accept(world.plan())


def test_the_provider_gets_one_brief_per_version_without_the_goals(world: World) -> None:
    world.accept(world.assignment())
    world.accept(world.plan(participation_goals="Wil als verpleegkundige werken"))
    [first] = _briefs(world)
    assert first["type"] == "provider-brief" and first["subject"] == {
        "v_number": world.person.v_number
    }
    assert first["body"]["route"] == "b1-route" and "participation_goals" not in first["body"]
    assert first["withheld_categories"] == ["participation_goals"]
    assert first["body"]["assignment"]["route"] == "b1-route"
    world.accept(world.plan(2, route="z-route", level="A2", estimated_hours_b1=None))
    briefs = _briefs(world)
    assert [b["body"]["plan_version"] for b in briefs] == [1, 2]
    assert _briefs(world, provider=demo.PROVIDER) == briefs  # until acknowledged
    leiden = world.store.state.parties[demo.LEIDEN]
    assert inbox.pull(world.services, leiden, 0, 100, NOW, TRACE).deliveries[0]["type"] == (
        "handover-profile"
    )  # a municipality's inbox holds no briefs, a provider's no profile


def test_a_provider_assigned_after_the_plan_gets_a_brief_and_an_ended_one_none(
    world: World,
) -> None:
    world.accept(world.plan())
    assert _briefs(world) == []  # not assigned
    assigned = world.assignment()
    world.accept(assigned)
    assert len(_briefs(world)) == 1
    again = world.assignment(assignment_id=assigned["body"]["assignment_id"])
    world.accept(again)  # a new version of the assignment: no second brief of v1
    assert len(_briefs(world)) == 1
    for body in [a[2] for a in world.store.state.assignments]:
        ended = world.assignment(assignment_id=body.assignment_id, status="ended")
        world.accept(ended)
    assert _briefs(world) == []  # ended: the unacknowledged brief is not handed out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    marks=st.lists(
        st.text(alphabet="QXZJKWqxzjkw", min_size=8, max_size=12), min_size=3, max_size=3,
        unique=True,
    ),
    route=st.sampled_from(["b1-route", "z-route", "onderwijsroute"]),
)  # fmt: skip
def test_no_profile_value_and_no_goal_ever_reaches_a_brief(
    catalog: Catalog, tmp_path: Path, marks: list[str], route: str
) -> None:
    world = make_world(catalog, tmp_path)
    profile = world.profile()
    profile["body"]["identity"]["family_name"] = marks[0]
    profile["body"]["casemanager_notes"]["notes"] = marks[1]
    world.accept(profile)
    world.accept(world.assignment())
    level = {"b1-route": "B1", "z-route": "A2", "onderwijsroute": "B1"}[route]
    hours = 600 if route == "b1-route" else None
    world.accept(world.plan(route=route, level=level, estimated_hours_b1=hours,
                            participation_goals=marks[2]))  # fmt: skip
    text = str(_briefs(world))
    assert text.count("provider-brief") == 1
    for mark in marks:
        assert mark not in text
