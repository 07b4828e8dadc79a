"""Placement decides who may steer: only the municipality a newcomer is placed with.

The newest accepted handover profile places the newcomer; assignments and
the assigned provider's reports are for that municipality only, checked in
the write transaction, so a profile committed just before counts.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.wire import envelope
from gateway.errors import NotAuthorised
from gateway.service.services import Services

pytestmark = pytest.mark.e2e
CODES = {demo.LEIDEN: "GM0546", demo.UTRECHT: "GM0344"}


class Newcomer:
    """One synthetic newcomer and the messages the parties send about them."""

    def __init__(self, cast: demo.Cast, seed: int) -> None:
        self.cast, self.rng = cast, random.Random(seed)
        self.person = synthetic.Newcomer.make(self.rng)
        self.now = datetime.now(UTC)

    def profile(self, municipality: str) -> str:
        payload = demo.profile(
            self.person, self.rng, self.now, recipient=municipality,
            municipality_code=CODES[municipality],
        )  # fmt: skip
        return self.cast.client(demo.COA).sign(payload)

    def assignment(self, municipality: str) -> str:
        body = synthetic.provider_assignment(demo.PROVIDER, self.now - timedelta(minutes=1))
        return self._signed(municipality, "provider-assignment", body, municipality)

    def report(self, municipality: str) -> str:
        body = synthetic.progress_report(demo.PROVIDER)
        return self._signed(demo.PROVIDER, "progress-report", body, municipality)

    def _signed(self, sender: str, type_: str, body: dict[str, Any], recipient: str) -> str:
        payload = synthetic.payload(
            type_, body, sender=sender, recipient=recipient, newcomer=self.person,
            issued_at=self.now,
        )  # fmt: skip
        return self.cast.client(sender).sign(payload)

    def send(self, token: str) -> int:
        sender = json.loads(envelope.b64url_decode(token.split(".")[1]))["sender"]
        try:
            return self.cast.client(sender).submit(token).status
        except NotAuthorised:
            return 403


def _refusals(services: Services, since: int) -> list[tuple[str, str]]:
    entries = storage_of(services).audit.entries(since)
    return [
        (e["entry"]["actor"], e["entry"]["reason"])
        for e in entries
        if e["entry"]["event"] == "message.refused"
    ]


def test_a_municipality_may_not_steer_a_newcomer_placed_elsewhere(
    cast: demo.Cast, server_services: Services
) -> None:
    amina = Newcomer(cast, 9100)
    assert amina.send(amina.profile(demo.UTRECHT)) == 202
    start = storage_of(server_services).count("audit_entries")
    assert amina.send(amina.assignment(demo.LEIDEN)) == 403
    assert amina.send(amina.report(demo.LEIDEN)) == 403
    assert _refusals(server_services, start) == [
        (demo.LEIDEN, "not-authorised"),
        (demo.PROVIDER, "not-authorised"),
    ]
    nobody = Newcomer(cast, 9101)  # no handover profile at all: any V-nummer
    assert nobody.send(nobody.assignment(demo.LEIDEN)) == 403


def test_the_refusal_says_why(cast: demo.Cast) -> None:
    amina = Newcomer(cast, 9200)
    amina.send(amina.profile(demo.UTRECHT))
    response = requests.post(
        cast.url + "/v1/messages",
        data=amina.assignment(demo.LEIDEN),
        headers={"Content-Type": "application/jose"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "the newcomer is placed with another municipality"


def test_a_newcomer_re_placed_by_a_later_profile_moves_with_it(cast: demo.Cast) -> None:
    amina = Newcomer(cast, 9300)
    assert amina.send(amina.profile(demo.LEIDEN)) == 202
    assert amina.send(amina.assignment(demo.LEIDEN)) == 202
    assert amina.send(amina.report(demo.LEIDEN)) == 202
    assert amina.send(amina.profile(demo.UTRECHT)) == 202  # COA places her in Utrecht
    assert amina.send(amina.assignment(demo.LEIDEN)) == 403
    assert amina.send(amina.report(demo.LEIDEN)) == 403  # Leiden's assignment steers no more
    assert amina.send(amina.assignment(demo.UTRECHT)) == 202
    assert amina.send(amina.report(demo.UTRECHT)) == 202


def test_a_profile_earlier_in_the_same_transaction_counts(cast: demo.Cast) -> None:
    """Checked under the write lock: a move committed with it, or just before, holds."""
    amina = Newcomer(cast, 9400)
    assert amina.send(amina.profile(demo.LEIDEN)) == 202
    items = [amina.profile(demo.UTRECHT), amina.assignment(demo.LEIDEN)]
    response = requests.post(
        cast.url + "/v1/messages:batch",
        data=json.dumps({"messages": items}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert [r["status"] for r in response.json()["results"]] == [202, 403]
