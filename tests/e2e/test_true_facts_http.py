"""What people act on is true (profile v1.2), over HTTP on both backends.

Consent given after a pull brings the data at the next pull, and a
withdrawal after that takes it away again; one plan and one assignment per
newcomer, refused naming what is in force; consent only for one's own
newcomers; the placement's clocks run from COA's own date; every date a
message carries is one the domain can compute with.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import municipality
from connectors.common.client import GatewayClient
from gateway.devtools import demo, synthetic
from gateway.errors import Conflict, NotAuthorised, SchemaViolation

pytestmark = pytest.mark.e2e
CODES = {demo.LEIDEN: "GM0546", demo.UTRECHT: "GM0344"}


class Case:
    """One synthetic newcomer, placed by COA, and the messages the parties send about them."""

    def __init__(self, cast: demo.Cast, seed: int, municipality: str = demo.LEIDEN) -> None:
        self.cast, self.municipality = cast, municipality
        self.rng = random.Random(seed)
        self.person = synthetic.Newcomer.make(self.rng)
        self.now = datetime.now(UTC)

    def client(self, party: str) -> GatewayClient:
        return self.cast.client(party)

    def place(self, linked_on: str | None = None) -> int:
        body = synthetic.handover_profile(self.person, CODES[self.municipality], self.rng)
        if linked_on is not None:
            body["placement"]["linked_on"] = linked_on
        return self.send(demo.COA, "handover-profile", body)

    def send(self, sender: str, type_: str, body: dict[str, Any], to: str | None = None) -> int:
        payload = synthetic.payload(
            type_, body, sender=sender, recipient=to or self.municipality, newcomer=self.person,
            issued_at=self.now,
        )  # fmt: skip
        client = self.client(sender)
        return client.submit(client.sign(payload)).status

    def declare(self, categories: list[str], by: str | None = None) -> dict[str, Any]:
        body = synthetic.consent_declaration(
            self.municipality, [demo.COA], categories, self.now - timedelta(minutes=5)
        )
        assert self.send(by or self.municipality, "consent-declaration", body) == 202
        return body

    def pull(self, municipality: str | None = None) -> list[dict[str, Any]]:
        """This newcomer's deliveries in the municipality's inbox now (not acknowledged).

        The whole inbox, page by page: other tests share the server's inboxes.
        """
        client, after, mine = self.client(municipality or self.municipality), 0, []
        while True:
            page = client.get_json("/v1/inbox", limit=500, after=after)
            v_number = self.person.v_number
            mine += [d for d in page["deliveries"] if d["subject"]["v_number"] == v_number]
            if len(page["deliveries"]) < 500:
                return mine
            after = page["next_cursor"]

    def ack(self, deliveries: list[dict[str, Any]]) -> None:
        for delivery in deliveries:
            self.client(self.municipality).ack(delivery["delivery_id"])


def test_consent_given_after_an_ack_brings_the_data_and_a_withdrawal_takes_it_away(
    cast: demo.Cast,
) -> None:
    case = Case(cast, 25001)
    assert case.place() == 202
    [first] = case.pull()
    assert "education" in first["withheld_categories"] and "education" not in first["body"]
    case.ack([first])
    assert case.pull() == []  # acknowledged: never handed out again as such

    declared = case.declare(["education"])
    [again] = case.pull()
    assert again["message_id"] == first["message_id"] and again["type"] == "handover-profile"
    assert again["delivery_id"] != first["delivery_id"]
    assert again["supersedes"] == [first["delivery_id"]]
    assert "education" in again["body"] and "education" not in again["withheld_categories"]
    assert case.client(case.municipality).verify_gateway_token(
        again["delivery_token"], "inburgering-delivery+jws"
    )["supersedes"] == [first["delivery_id"]]  # signed with the rest
    case.ack([again])
    assert case.pull() == []

    withdrawal = {"declaration_id": declared["declaration_id"],
                  "withdrawn_at": synthetic.utc(case.now)}  # fmt: skip
    assert case.send(case.municipality, "consent-withdrawal", withdrawal) == 202
    [notice] = case.pull()
    assert notice["type"] == "consent-withdrawn"
    assert notice["categories"] == ["education"]
    assert notice["affected_deliveries"] == [again["delivery_id"]]


def test_a_consent_that_releases_nothing_new_hands_out_nothing_again(cast: demo.Cast) -> None:
    case = Case(cast, 25002)
    assert case.place() == 202
    case.ack(case.pull())
    case.declare(["education"])
    case.ack(case.pull())
    case.declare(["education"])  # the same category again: nothing more may leave
    assert case.pull() == []


def test_a_second_plan_is_refused_naming_the_plan_in_force(cast: demo.Cast) -> None:
    case = Case(cast, 25003)
    assert case.place() == 202
    plan_id = str(uuid.uuid4())
    assert case.send(demo.LEIDEN, "integration-plan", synthetic.integration_plan(plan_id)) == 202
    other = synthetic.integration_plan(str(uuid.uuid4()))
    with pytest.raises(Conflict) as refused:
        case.send(demo.LEIDEN, "integration-plan", other)
    assert refused.value.reason == "plan-exists" and plan_id in refused.value.detail
    changed = synthetic.integration_plan(plan_id, 1, level="A2", estimated_hours_b1=None)
    with pytest.raises(Conflict):  # version 1 again, other members
        case.send(demo.LEIDEN, "integration-plan", changed)
    assert case.send(demo.LEIDEN, "integration-plan", synthetic.integration_plan(plan_id, 2)) == 202


def test_another_newcomers_plan_id_is_a_conflict_not_a_500(cast: demo.Cast) -> None:
    first, second = Case(cast, 25004), Case(cast, 25005)
    assert first.place() == 202 and second.place() == 202
    plan_id = str(uuid.uuid4())
    assert first.send(demo.LEIDEN, "integration-plan", synthetic.integration_plan(plan_id)) == 202
    with pytest.raises(Conflict) as refused:
        second.send(demo.LEIDEN, "integration-plan", synthetic.integration_plan(plan_id))
    assert refused.value.reason == "plan-id-taken"


def test_an_overlapping_second_assignment_is_refused_naming_the_one_in_force(
    cast: demo.Cast,
) -> None:
    case = Case(cast, 25006)
    assert case.place() == 202
    start = case.now - timedelta(days=1)
    first = synthetic.provider_assignment(demo.PROVIDER, start)
    assert case.send(demo.LEIDEN, "provider-assignment", first) == 202
    with pytest.raises(Conflict) as refused:
        case.send(demo.LEIDEN, "provider-assignment", synthetic.provider_assignment(
            demo.PROVIDER, start + timedelta(hours=1)))  # fmt: skip
    assert refused.value.reason == "assignment-exists"
    assert first["assignment_id"] in refused.value.detail
    ended = synthetic.provider_assignment(
        demo.PROVIDER, start, assignment_id=first["assignment_id"], valid_until=case.now
    )
    assert case.send(demo.LEIDEN, "provider-assignment", ended) == 202
    later = synthetic.provider_assignment(demo.PROVIDER, case.now + timedelta(days=1))
    assert case.send(demo.LEIDEN, "provider-assignment", later) == 202  # no overlap any more


def test_consent_for_a_newcomer_placed_elsewhere_is_refused(cast: demo.Cast) -> None:
    case = Case(cast, 25007, municipality=demo.UTRECHT)
    assert case.place() == 202
    body = synthetic.consent_declaration(demo.LEIDEN, [demo.COA], ["education"], case.now)
    with pytest.raises(NotAuthorised):
        case.send(demo.LEIDEN, "consent-declaration", body, to=demo.LEIDEN)
    stranger = Case(cast, 25008)  # a typo in the V-nummer: nobody placed
    with pytest.raises(NotAuthorised):
        stranger.send(demo.LEIDEN, "consent-declaration", body, to=demo.LEIDEN)
    assert case.client(demo.LEIDEN).get_json(
        "/v1/consents", v_number=case.person.v_number)["consents"] == []  # fmt: skip


def test_the_placement_clock_runs_from_coas_own_date(cast: demo.Cast) -> None:
    case = Case(cast, 25009)
    linked = (case.now - timedelta(days=80)).date().isoformat()
    assert case.place(linked_on=linked) == 202
    progress = case.client(demo.LEIDEN).get_json(f"/v1/newcomers/{case.person.v_number}/progress")
    assert progress["placed_on"] == linked and progress["placed_on_source"] == "coa"
    assert [s["code"] for s in progress["signals"]] == ["no-plan"]
    fresh = Case(cast, 25010)
    assert fresh.place() == 202
    progress = fresh.client(demo.LEIDEN).get_json(f"/v1/newcomers/{fresh.person.v_number}/progress")
    assert progress["placed_on_source"] == "received" and progress["signals"] == []


@pytest.mark.parametrize(
    ("dated", "pointer"),
    [("0000-01-01", "/body/dated"), ("9999-12-31", "/body/dated"), ("2021-12-31", "/body/dated")],
)
def test_a_plan_date_the_domain_cannot_mean_is_refused_at_its_pointer(
    cast: demo.Cast, dated: str, pointer: str
) -> None:
    case = Case(cast, 25011 + len(dated) + int(dated[:4]))
    assert case.place() == 202
    with pytest.raises(SchemaViolation) as refused:
        case.send(demo.LEIDEN, "integration-plan",
                  synthetic.integration_plan(str(uuid.uuid4()), dated=dated))  # fmt: skip
    assert [e["pointer"] for e in refused.value.errors] == [pointer]


def test_a_correctie_may_date_a_plan_back(cast: demo.Cast) -> None:
    case = Case(cast, 25020)
    assert case.place() == 202
    plan_id = str(uuid.uuid4())
    assert case.send(demo.LEIDEN, "integration-plan",
                     synthetic.integration_plan(plan_id, dated="2026-11-20")) == 202  # fmt: skip
    earlier = synthetic.integration_plan(plan_id, 2, dated="2026-10-01", change_reason="schakelen")
    with pytest.raises(SchemaViolation):
        case.send(demo.LEIDEN, "integration-plan", earlier)
    corrected = {**earlier, "change_reason": "correctie"}
    assert case.send(demo.LEIDEN, "integration-plan", corrected) == 202
    progress = case.client(demo.LEIDEN).get_json(f"/v1/newcomers/{case.person.v_number}/progress")
    assert progress["plan"]["dated"] == "2026-10-01"


def test_the_folder_puller_writes_a_message_handed_out_again_over_the_earlier_file(
    cast: demo.Cast, tmp_path: Path
) -> None:
    case = Case(cast, 25030, municipality=demo.UTRECHT)
    assert case.place() == 202
    client = case.client(demo.UTRECHT)
    sink = municipality.folder_sink(tmp_path)
    municipality.pull_once(client, sink, limit=500)
    v_number = case.person.v_number
    [first] = [p for p in tmp_path.glob("*.json")
               if json.loads(p.read_text())["subject"]["v_number"] == v_number]  # fmt: skip
    assert "education" not in json.loads(first.read_text())["body"]
    case.declare(["education"])
    result = municipality.pull_once(client, sink, limit=500)
    assert result.again == 1
    over = json.loads(first.read_text())  # where the case system read it before
    assert "education" in over["body"] and over["supersedes"] == [first.stem]
    assert json.loads((tmp_path / over["superseded_by"]).read_text())["body"] == over["body"]
