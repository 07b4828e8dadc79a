"""The consent-state matrix over real HTTP: per state, exactly what a pull delivers.

One newcomer per state; COA sends each a blue folder for Utrecht; the state is
recorded with real consent messages; one pull shows what leaves. Legal-basis
categories always leave; the rest only by consent in force. A declaration
that covers health without the explicit flag is refused at intake (422, see
the schema tests), so that state is a declaration without health.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.common.client import GatewayClient
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.errors import NotAuthorised
from gateway.service.services import Services

pytestmark = pytest.mark.e2e
LEGAL = {"identity", "placement"}
CONSENTED = {"education", "family"}
ALL = {
    "identity",
    "placement",
    "family",
    "education",
    "work_experience",
    "languages",
    "interests",
    "health",
    "casemanager_notes",
}

# state → (declaration changes, withdrawal "by" or None, granted to Utrecht?, what leaves)
STATES: dict[str, tuple[dict[str, Any], str | None, bool, set[str]]] = {
    "none": ({}, None, False, LEGAL),
    "valid": ({}, None, True, LEGAL | CONSENTED),
    "not yet valid": ({"start": timedelta(days=2)}, None, True, LEGAL),
    "expired": ({"start": -timedelta(days=3), "days": 1}, None, True, LEGAL),
    "withdrawn": ({}, "data-subject", True, LEGAL),
    "revoked": ({}, "recording-party", True, LEGAL),
    "health with explicit flag": ({"health": True}, None, True, LEGAL | CONSENTED | {"health"}),
    "health without explicit flag": ({"health": False}, None, True, LEGAL | CONSENTED),
    "other source": ({"sources": [demo.PROVIDER]}, None, True, LEGAL),
    "other municipality": ({}, None, False, LEGAL),
}


def _record_state(cast: demo.Cast, person: synthetic.Newcomer, state: str, now: datetime) -> None:
    """Record ``state`` for ``person`` with real consent messages: a declaration (refused
    when granted to another municipality), then a withdrawal if the state has one."""
    changes, withdrawal, to_utrecht, _ = STATES[state]
    categories = sorted(CONSENTED | ({"health"} if changes.get("health") else set()))
    if "health" in changes and not changes["health"]:
        categories = sorted(CONSENTED)  # a declaration with health and no flag is refused (422)
    granting = demo.UTRECHT if to_utrecht else demo.LEIDEN
    recorder = cast.client(granting)
    body = synthetic.consent_declaration(
        granting,
        changes.get("sources", [demo.COA]),
        categories,
        now - timedelta(hours=1) + changes.get("start", timedelta(0)),
        explicit_health=bool(changes.get("health")),
        days=changes.get("days", 365),
    )
    record = synthetic.payload(
        "consent-declaration",
        body,
        sender=granting,
        recipient=granting,
        newcomer=person,
        issued_at=now,
    )
    if not to_utrecht:  # a consent for another municipality's newcomer: refused (v1.2)
        with pytest.raises(NotAuthorised):
            recorder.submit(recorder.sign(record))
        return
    assert recorder.submit(recorder.sign(record)).status == 202
    if withdrawal:
        ended = synthetic.payload(
            "consent-withdrawal",
            {
                "declaration_id": body["declaration_id"],
                "withdrawn_at": synthetic.utc(now),
                "by": withdrawal,
            },
            sender=granting,
            recipient=granting,
            newcomer=person,
            issued_at=now,
        )
        assert recorder.submit(recorder.sign(ended)).status == 202


def _whole_inbox(utrecht: GatewayClient) -> dict[str, dict[str, Any]]:
    """Every delivery in Utrecht's inbox by message_id: other tests share the server's."""
    by_message, after = {}, 0
    while True:
        page = utrecht.get_json("/v1/inbox", limit=500, after=after)
        by_message.update({d["message_id"]: d for d in page["deliveries"]})
        if len(page["deliveries"]) < 500:
            break
        after = page["next_cursor"]
    return by_message


@pytest.fixture(scope="module")
def pulled(
    cast: demo.Cast, server: ServerProcess, server_services: Services
) -> dict[str, dict[str, Any]]:
    """One newcomer per state, handed over to Utrecht, the state recorded; one pull."""
    coa = cast.client(demo.COA)
    rng = random.Random(9090)
    now = datetime.now(UTC)
    message_ids: dict[str, str] = {}
    for state in STATES:
        person = synthetic.Newcomer.make(rng)
        profile = synthetic.payload(
            "handover-profile",
            synthetic.handover_profile(person, "GM0344", rng),
            sender=demo.COA,
            recipient=demo.UTRECHT,
            newcomer=person,
            issued_at=now,
        )
        assert coa.submit(coa.sign(profile)).status == 202
        message_ids[state] = profile["message_id"]
        if state != "none":
            _record_state(cast, person, state, now)
    by_message = _whole_inbox(cast.client(demo.UTRECHT))
    return {state: by_message[mid] for state, mid in message_ids.items()}


@pytest.mark.parametrize("state", list(STATES))
def test_a_pull_delivers_exactly_what_the_consent_state_allows(
    pulled: dict[str, dict[str, Any]], state: str
) -> None:
    delivery = pulled[state]
    expected = STATES[state][3]
    assert set(delivery["body"]) == expected
    assert set(delivery["withheld_categories"]) == ALL - expected


def test_withheld_values_reach_no_log_line(
    pulled: dict[str, dict[str, Any]], server: ServerProcess
) -> None:
    log = server.log.read_text()
    for delivery in pulled.values():
        identity = delivery["body"]["identity"]
        for value in (identity["family_name"], identity["birth_date"], identity["v_number"]):
            assert value not in log
    assert "Electrician" not in log and "Synthetic note" not in log
