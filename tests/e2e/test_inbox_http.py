"""The municipality inbox over HTTP: consent decided at pull time, tokens, acks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.common.client import GatewayClient
from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.errors import NotAuthorised, NotFound
from gateway.service.services import Services

pytestmark = pytest.mark.e2e
CONSENTED = {"education", "health"}


def _mine(page: dict[str, Any], message_id: str) -> list[dict[str, Any]]:
    return [d for d in page["deliveries"] if d["message_id"] == message_id]


def _handed_over(
    coa: GatewayClient, person: synthetic.Newcomer, rng: random.Random, now: datetime
) -> str:
    """COA hands ``person``'s profile over to Utrecht; the message_id."""
    profile = synthetic.payload(
        "handover-profile",
        synthetic.handover_profile(person, "GM0344", rng),
        sender=demo.COA,
        recipient=demo.UTRECHT,
        newcomer=person,
        issued_at=now,
    )
    assert coa.submit(coa.sign(profile)).status == 202
    return str(profile["message_id"])


def _pulled_without_consent(utrecht: GatewayClient, message_id: str) -> dict[str, Any]:
    """1. No consent yet: only the legal-basis categories leave; the rest is named."""
    [first] = _mine(utrecht.get_json("/v1/inbox", limit=500), message_id)
    assert set(first["body"]) == {"identity", "placement"}
    assert set(first["withheld_categories"]) == {
        "family",
        "education",
        "work_experience",
        "languages",
        "interests",
        "health",
        "casemanager_notes",
    }
    token = utrecht.verify_gateway_token(first["delivery_token"], "inburgering-delivery+jws")
    assert token == {k: v for k, v in first.items() if k != "delivery_token"}
    return first


def _consent_declared(
    utrecht: GatewayClient, person: synthetic.Newcomer, now: datetime
) -> dict[str, Any]:
    """Utrecht declares the newcomer's consent to ``CONSENTED`` from COA; the declaration."""
    declaration = synthetic.consent_declaration(
        demo.UTRECHT,
        [demo.COA],
        sorted(CONSENTED),
        now - timedelta(minutes=5),
        explicit_health=True,
    )
    record = synthetic.payload(
        "consent-declaration",
        declaration,
        sender=demo.UTRECHT,
        recipient=demo.UTRECHT,
        newcomer=person,
        issued_at=now,
    )
    assert utrecht.submit(utrecht.sign(record)).status == 202
    return declaration


def _consent_withdrawn(
    utrecht: GatewayClient, person: synthetic.Newcomer, declaration_id: str, now: datetime
) -> str:
    """Utrecht records the withdrawal of ``declaration_id``; the withdrawal's message_id."""
    withdrawal = synthetic.payload(
        "consent-withdrawal",
        {"declaration_id": declaration_id, "withdrawn_at": synthetic.utc(now)},
        sender=demo.UTRECHT,
        recipient=demo.UTRECHT,
        newcomer=person,
        issued_at=now,
    )
    assert utrecht.submit(utrecht.sign(withdrawal)).status == 202
    return str(withdrawal["message_id"])


def _told_of_the_withdrawal(
    utrecht: GatewayClient,
    server_services: Services,
    notice: dict[str, Any],
    withdrawal_id: str,
    consented: tuple[str, str],
) -> None:
    """3b. A signed notice naming what Utrecht may no longer use and the delivery that
    carried it (``consented``: the declaration and that delivery), audited once."""
    declaration_id, delivery_id = consented
    assert notice["type"] == "consent-withdrawn" and "body" not in notice
    assert notice["declaration_id"] == declaration_id
    assert notice["categories"] == sorted(CONSENTED)
    assert notice["affected_deliveries"] == [delivery_id]
    signed = utrecht.verify_gateway_token(notice["delivery_token"], "inburgering-delivery+jws")
    assert signed == {k: v for k, v in notice.items() if k != "delivery_token"}
    told = [
        e["entry"]
        for e in storage_of(server_services).audit.entries()
        if e["entry"]["event"] == "notice.delivered" and e["entry"]["message_id"] == withdrawal_id
    ]
    assert len(told) == 1 and told[0]["actor"] == demo.UTRECHT
    assert sorted(told[0]["categories_withheld"]) == sorted(CONSENTED)


def _acknowledged_by_the_recipient_only(cast: demo.Cast, message_id: str, delivery_id: str) -> None:
    """4. Another municipality cannot see or acknowledge it; the recipient can, twice."""
    utrecht, leiden = cast.client(demo.UTRECHT), cast.client(demo.LEIDEN)
    assert _mine(leiden.get_json("/v1/inbox", limit=500), message_id) == []
    with pytest.raises(NotFound):
        leiden.request("POST", f"/v1/inbox/{delivery_id}/ack", authenticated=True)
    for _ in range(2):
        answer = utrecht.request("POST", f"/v1/inbox/{delivery_id}/ack", authenticated=True)
        assert answer.status_code == 204
    assert _mine(utrecht.get_json("/v1/inbox", limit=500), message_id) == []


def _each_pull_audited(server_services: Services, message_id: str, declaration_id: str) -> None:
    """5. Each pull is audited with what left, what did not, and on which basis."""
    pulled = [
        e["entry"]
        for e in storage_of(server_services).audit.entries()
        if e["entry"]["message_id"] == message_id and e["entry"]["event"] == "delivery.pulled"
    ]
    assert [sorted(e["categories_delivered"]) for e in pulled] == [
        ["identity", "placement"],
        ["education", "health", "identity", "placement"],
        ["identity", "placement"],
    ]
    assert pulled[1]["basis"]["health"] == f"consent:{declaration_id}"
    assert pulled[0]["basis"]["identity"].startswith("legal:")
    acks = [
        e["entry"]["reason"]
        for e in storage_of(server_services).audit.entries()
        if e["entry"]["message_id"] == message_id and e["entry"]["event"] == "delivery.acknowledged"
    ]
    assert acks == [None, "already-acknowledged"]


def test_pull_minimises_by_consent_now_and_ack_ends_redelivery(
    cast: demo.Cast, server_services: Services
) -> None:
    coa, utrecht = cast.client(demo.COA), cast.client(demo.UTRECHT)
    rng = random.Random(4242)
    person = synthetic.Newcomer.make(rng)
    now = datetime.now(UTC)
    message_id = _handed_over(coa, person, rng, now)
    first = _pulled_without_consent(utrecht, message_id)

    # 2. Consent recorded: the same unacknowledged delivery comes again, with more.
    declaration_id = _consent_declared(utrecht, person, now)["declaration_id"]
    [second] = _mine(utrecht.get_json("/v1/inbox", limit=500), message_id)
    assert set(second["body"]) == {"identity", "placement"} | CONSENTED
    assert second["delivery_id"] == first["delivery_id"]

    # 3. Withdrawn between two pulls: the next pull no longer carries those categories.
    withdrawal_id = _consent_withdrawn(utrecht, person, declaration_id, now)
    page = utrecht.get_json("/v1/inbox", limit=500)
    [third] = _mine(page, message_id)
    assert set(third["body"]) == {"identity", "placement"}
    assert "Electrician" not in str(third) and person.family_name in str(third["body"])
    # 3b. ... and Utrecht is told (the second pull carried the consented categories).
    [notice] = _mine(page, withdrawal_id)
    consented = (declaration_id, first["delivery_id"])
    _told_of_the_withdrawal(utrecht, server_services, notice, withdrawal_id, consented)

    _acknowledged_by_the_recipient_only(cast, message_id, first["delivery_id"])
    _each_pull_audited(server_services, message_id, declaration_id)


def test_cursor_paging_and_limits(cast: demo.Cast) -> None:
    utrecht = cast.client(demo.UTRECHT)
    page = utrecht.get_json("/v1/inbox", limit=1)
    assert len(page["deliveries"]) <= 1
    after = utrecht.get_json("/v1/inbox", after=page["next_cursor"], limit=500)
    assert all(
        d["delivery_id"] not in {x["delivery_id"] for x in page["deliveries"]}
        for d in after["deliveries"]
    )
    for bad in ({"limit": 0}, {"limit": 501}, {"after": -1}, {"lease": 0}, {"lease": 601}):
        response = requests.get(
            cast.url + "/v1/inbox",
            params=bad,
            timeout=5,
            headers={"Authorization": f"Bearer {utrecht.assertion()}"},
        )
        assert response.status_code == 400
    coa = cast.client(demo.COA)
    response = requests.get(
        cast.url + "/v1/inbox", timeout=5, headers={"Authorization": f"Bearer {coa.assertion()}"}
    )
    assert response.status_code == 403


def test_a_provider_reports_only_while_the_recipient_has_assigned_it(cast: demo.Cast) -> None:
    provider, utrecht, leiden = (
        cast.client(demo.PROVIDER),
        cast.client(demo.UTRECHT),
        cast.client(demo.LEIDEN),
    )
    person = synthetic.Newcomer.make(random.Random(4343))
    now = datetime.now(UTC)

    def message(sender: str, type_: str, body: dict[str, Any]) -> dict[str, Any]:
        return synthetic.payload(
            type_,
            body,
            sender=sender,
            recipient=sender if sender != demo.PROVIDER else demo.UTRECHT,
            newcomer=person,
            issued_at=now,
        )

    def report() -> int:
        try:
            return provider.submit(
                provider.sign(
                    message(
                        demo.PROVIDER, "progress-report", synthetic.progress_report(demo.PROVIDER)
                    )
                )
            ).status
        except NotAuthorised:
            return 403

    coa = cast.client(demo.COA)
    placed = demo.profile(person, random.Random(4344), now, recipient=demo.UTRECHT)
    placed["body"]["placement"]["municipality_code"] = "GM0344"
    assert coa.submit(coa.sign(placed)).status == 202  # placed with Utrecht
    assert report() == 403  # not assigned at all
    elsewhere = synthetic.provider_assignment(demo.PROVIDER, now - timedelta(minutes=1))
    with pytest.raises(NotAuthorised):  # Leiden may not steer Utrecht's newcomer
        leiden.submit(leiden.sign(message(demo.LEIDEN, "provider-assignment", elsewhere)))
    assert report() == 403
    assignment = synthetic.provider_assignment(demo.PROVIDER, now - timedelta(minutes=1))
    assert (
        utrecht.submit(
            utrecht.sign(message(demo.UTRECHT, "provider-assignment", assignment))
        ).status
        == 202
    )
    assert report() == 202
    ended = {**assignment, "status": "ended"}
    assert (
        utrecht.submit(utrecht.sign(message(demo.UTRECHT, "provider-assignment", ended))).status
        == 202
    )
    assert report() == 403  # the assignment has ended
