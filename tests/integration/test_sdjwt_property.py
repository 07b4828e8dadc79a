"""What a pull forwards of a version-2 profile, for any profile and any consent (issue #32).

On a real SQLite store through the service layer (intake, consent, the inbox pull): whatever
categories COA's profile holds and whatever Leiden's newcomer consented to, the delivery
carries the disclosures of exactly the deliverable categories (identity and placement by a
legal basis, the rest with consent; health only with a declaration that names it, which the
declaration's schema lets be only an explicit one), and Leiden's own check
(``verify_delivered`` against COA's key) yields COA's body restricted to them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.bootstrap import storage_of
from gateway.client import sdjwt as client_sdjwt
from gateway.devtools import demo, synthetic
from gateway.domain.parties import Party
from gateway.domain.wire import jwk, sdjwt
from gateway.service import inbox, intake
from gateway.service.services import Services
from tests.conftest import services_for

LEGAL = frozenset({"identity", "placement"})
OPTIONAL = ("casemanager_notes", "education", "family", "health", "interests", "languages",
            "work_experience")  # fmt: skip
TRACE = "5" * 32


@dataclass
class World:
    services: Services
    cast: demo.Cast
    leiden: Party
    seeds: Iterator[int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    services = services_for(Path(tmp_path_factory.mktemp("sdjwt-property")) / "instance")
    cast = demo.register_cast(services, "http://unused", datetime.now(UTC))
    leiden = services.store.registry.find_party(demo.LEIDEN)
    assert leiden is not None
    yield World(services, cast, leiden, itertools.count(32_500))
    storage_of(services).engine.dispose()


def _send(world: World, sender: str, payload: dict[str, Any], now: datetime) -> None:
    token = world.cast.client(sender).sign(payload)
    outcome = intake.accept(token.encode(), services=world.services, now=now, trace_id=TRACE)
    assert outcome.status == 202


def _placed(world: World, present: set[str], now: datetime) -> tuple[Any, dict[str, Any]]:
    """A new newcomer, placed with Leiden by COA's version-2 profile of ``present``."""
    rng = random.Random(next(world.seeds))
    person = synthetic.Newcomer.make(rng)
    plain = {**demo.profile(person, rng, now), "version": 2}
    plain["body"] = {c: v for c, v in plain["body"].items() if c in LEGAL | present}
    _send(world, demo.COA, plain, now)
    return person, plain


def _consented(world: World, person: Any, categories: set[str], explicit: bool,
               now: datetime) -> None:  # fmt: skip
    declaration = synthetic.consent_declaration(
        demo.LEIDEN, [demo.COA], sorted(categories), now - timedelta(minutes=1),
        explicit_health=explicit,
    )  # fmt: skip
    payload = synthetic.payload("consent-declaration", declaration, sender=demo.LEIDEN,
                                recipient=demo.LEIDEN, newcomer=person, issued_at=now)  # fmt: skip
    _send(world, demo.LEIDEN, payload, now)


def _delivery(world: World, message_id: str, now: datetime) -> dict[str, Any]:
    """The profile's delivery in Leiden's inbox, acknowledged once read."""
    page = inbox.deliveries(world.services, world.leiden, 0, 500, now, TRACE)
    [found] = [d for d in page.deliveries if d["message_id"] == message_id]
    for delivery in page.deliveries:
        inbox.acknowledge(world.services, world.leiden, delivery["delivery_id"], now, TRACE)
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    present=st.sets(st.sampled_from(OPTIONAL)),
    consented=st.sets(st.sampled_from(sorted(LEGAL) + list(OPTIONAL))),
    explicit=st.booleans(),
)
def test_a_pull_forwards_exactly_the_deliverable_categories(
    world: World, present: set[str], consented: set[str], explicit: bool
) -> None:
    now = datetime.now(UTC)
    person, plain = _placed(world, present, now)
    if consented:  # naming health takes explicit consent (the declaration's schema says so)
        _consented(world, person, consented, explicit or "health" in consented, now)
    delivery = _delivery(world, plain["message_id"], now)

    deliverable = LEGAL | (present & consented)  # explicit consent alone names no category
    assert "body" not in delivery
    assert set(delivery["withheld_categories"]) == (LEGAL | present) - deliverable
    coa = world.cast.keys[demo.COA]
    verified = client_sdjwt.verify_delivered(delivery, {jwk.thumbprint(coa): coa})
    assert verified.body == {c: plain["body"][c] for c in deliverable}
    disclosures = sdjwt.parse(delivery["sd_jwt"]).disclosures
    named = [items[1] for d in disclosures if (items := sdjwt.decoded(d)) and len(items) == 3]
    health = plain["body"]["health"] if "health" in deliverable else {}
    assert sorted(named) == sorted([*deliverable, *health])  # health's members apart
