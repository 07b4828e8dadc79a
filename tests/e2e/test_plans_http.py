"""The plan (PIP) and the provider's briefs over HTTP, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.errors import Conflict, NotAuthorised, SchemaViolation
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e


def _briefs(cast: demo.Cast, person: synthetic.Newcomer) -> list[dict[str, Any]]:
    page = cast.client(demo.PROVIDER).get_json("/v1/inbox", limit=500)["deliveries"]
    return [d for d in page if d["subject"]["v_number"] == person.v_number]


@pytest.mark.parametrize(
    ("members", "pointer"),
    [
        ({"route": "onderwijsroute", "level": "A2", "estimated_hours_b1": None}, "/body/level"),
        ({"route": "z-route", "level": "B1", "estimated_hours_b1": None}, "/body/level"),
        ({"level": "A2"}, "/body/level"),
        ({"route": "z-route", "level": None}, "/body/estimated_hours_b1"),
    ],
    ids=["A2-onderwijsroute", "B1-z-route", "A2-b1-route-first", "hours-off-b1"],
)
def test_each_duo_combination_is_refused_with_its_pointer(
    cast: demo.Cast, members: dict[str, Any], pointer: str
) -> None:
    newcomer = Trajectory(cast, 31_100 + len(pointer) + len(str(members)))
    with pytest.raises(SchemaViolation) as refused:
        newcomer.plan(**members)
    assert [e["pointer"] for e in refused.value.errors] == [pointer]


def test_versions_places_and_dates_are_checked(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 31_200)
    with pytest.raises(Conflict):
        newcomer.plan(2)  # no version 1 yet
    assert newcomer.plan() == 202
    with pytest.raises(SchemaViolation):
        newcomer.plan(2, dated="2026-11-01")
    assert newcomer.plan(2, route="z-route", level="A2", estimated_hours_b1=None) == 202
    elsewhere = Trajectory(cast, 31_201, placed_with=demo.UTRECHT)
    with pytest.raises(NotAuthorised):
        elsewhere.plan()


def test_the_provider_pulls_one_brief_per_version_for_its_newcomers_only(cast: demo.Cast) -> None:
    mine, other = Trajectory(cast, 31_300), Trajectory(cast, 31_301)
    assert mine.assign() == 202 and mine.plan() == 202
    assert other.plan() == 202  # not assigned to the provider: no brief
    [brief] = _briefs(cast, mine.person)
    assert brief["type"] == "provider-brief" and brief["body"]["plan_version"] == 1
    assert "participation_goals" not in brief["body"]
    assert brief["withheld_categories"] == ["participation_goals"]
    assert mine.person.bsn is not None  # the newcomers of these tests have one
    assert mine.person.family_name not in str(brief) and mine.person.bsn not in str(brief)
    signed = cast.client(demo.PROVIDER).verify_gateway_token(
        brief["delivery_token"], "inburgering-delivery+jws"
    )
    assert signed == {k: v for k, v in brief.items() if k != "delivery_token"}
    assert _briefs(cast, other.person) == []
    everything = cast.client(demo.PROVIDER).get_json("/v1/inbox", limit=500)["deliveries"]
    assert {d["type"] for d in everything} == {"provider-brief"}  # never a profile or report
    assert mine.plan(2, route="z-route", level="A2", estimated_hours_b1=None) == 202
    assert [b["body"]["plan_version"] for b in _briefs(cast, mine.person)] == [1, 2]
    provider = cast.client(demo.PROVIDER)
    for b in _briefs(cast, mine.person):
        provider.ack(b["delivery_id"])
    assert _briefs(cast, mine.person) == []
    # A municipality's inbox holds no briefs of its plans.
    leiden = cast.client(demo.LEIDEN).get_json("/v1/inbox", limit=500)["deliveries"]
    assert not [d for d in leiden if d["type"] in ("provider-brief", "integration-plan")]


def test_an_ended_assignment_stops_the_unacknowledged_briefs(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 31_400)
    assignment_id = str(uuid.UUID(int=newcomer.rng.getrandbits(128), version=4))
    assert newcomer.assign(assignment_id=assignment_id) == 202
    assert newcomer.plan() == 202
    assert len(_briefs(cast, newcomer.person)) == 1
    assert newcomer.assign(assignment_id=assignment_id, status="ended") == 202
    assert _briefs(cast, newcomer.person) == []


def test_only_municipalities_and_providers_have_an_inbox(cast: demo.Cast) -> None:
    coa = cast.client(demo.COA)
    response = requests.get(
        cast.url + "/v1/inbox",
        headers={"Authorization": f"Bearer {coa.assertion()}"},
        timeout=5,
    )
    assert response.status_code == 403


def test_a_report_that_lowers_a_total_of_hours_is_refused_at_its_pointer(
    cast: demo.Cast,
) -> None:
    newcomer = Trajectory(cast, 31_500)
    assert newcomer.assign() == 202

    def report(**hours: int) -> int:
        body = synthetic.progress_report(demo.PROVIDER)
        if hours:
            body["hours"] = hours
        client = cast.client(demo.PROVIDER)
        payload = synthetic.payload(
            "progress-report", body, sender=demo.PROVIDER, recipient=demo.LEIDEN,
            newcomer=newcomer.person, issued_at=newcomer.now,
        )  # fmt: skip
        return client.submit(client.sign(payload)).status

    assert report(language_and_knm=120, broad_intake=30) == 202
    with pytest.raises(SchemaViolation) as lowered:
        report(language_and_knm=100)
    assert [e["pointer"] for e in lowered.value.errors] == ["/body/hours/language_and_knm"]
    assert report(language_and_knm=140) == 202 and report() == 202


def test_progress_shows_plan_hours_and_signals_from_what_may_be_seen_now(
    cast: demo.Cast, server_services: Any
) -> None:
    newcomer = Trajectory(cast, 31_600)
    assert newcomer.assign() == 202 and newcomer.plan() == 202
    body = synthetic.progress_report(demo.PROVIDER)
    body["attendance"] = {"hours_planned": 100, "hours_attended": 50}
    body["hours"] = {"language_and_knm": 40}
    provider = cast.client(demo.PROVIDER)
    report = synthetic.payload(
        "progress-report", body, sender=demo.PROVIDER, recipient=demo.LEIDEN,
        newcomer=newcomer.person, issued_at=newcomer.now,
    )  # fmt: skip
    assert provider.submit(provider.sign(report)).status == 202
    leiden = cast.client(demo.LEIDEN)
    path = f"/v1/newcomers/{newcomer.person.v_number}/progress"

    # No consent for attendance: low attendance cannot be judged, and is said so.
    seen = leiden.get_json(path)
    assert seen["plan"]["route"] == "b1-route" and seen["hours"]["language_and_knm"]["total"] == 40
    assert [a["provider"] for a in seen["assignments"]] == [demo.PROVIDER]
    assert "low-attendance" in seen["unknown_signals"]
    assert "low-attendance" not in [s["code"] for s in seen["signals"]]

    declaration = synthetic.consent_declaration(
        demo.LEIDEN, [demo.PROVIDER], ["attendance", "signals"],
        newcomer.now - timedelta(hours=1), purposes=("voortgang",),
    )  # fmt: skip
    assert newcomer.send("consent-declaration", declaration) == 202
    consented = leiden.get_json(path)
    assert [s["code"] for s in consented["signals"]] == ["low-attendance"]
    assert consented["unknown_signals"] == []

    withdrawal = {
        "declaration_id": declaration["declaration_id"],
        "withdrawn_at": synthetic.utc(newcomer.now),
    }
    assert newcomer.send("consent-withdrawal", withdrawal) == 202
    assert "low-attendance" in leiden.get_json(path)["unknown_signals"]

    with pytest.raises(NotAuthorised):  # Utrecht does not steer Leiden's newcomer
        cast.client(demo.UTRECHT).get_json(path)
    reads = [
        e["entry"]
        for e in storage_of(server_services).audit.entries()
        if e["entry"]["event"] == "regie.read"
        and e["entry"]["subject"] == server_services.pseudonym(newcomer.person.v_number)
    ]
    assert len(reads) == 3 and {r["processing_activity"] for r in reads} == {"inburgering/regie"}
