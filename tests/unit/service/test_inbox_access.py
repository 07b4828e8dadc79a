"""The inbox and access as use cases, over in-memory ports.

Consent is evaluated at the moment of each pull, a lease hands a page to one
puller, an ack is idempotent and another's delivery is absent; a bearer
assertion authenticates once, for the roles allowed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gateway.devtools import demo
from gateway.domain.schemas import Catalog
from gateway.domain.wire import bearer, envelope
from gateway.errors import NotFound, Unauthenticated
from gateway.service import access, inbox
from gateway.service.deliveries import Page
from tests.unit.world import NOW, TRACE, World, make_world


@pytest.fixture
def world(catalog: Catalog, tmp_path: Path) -> World:
    w = make_world(catalog, tmp_path)
    w.accept(w.profile())
    return w


def _pull(world: World, at: timedelta = timedelta(0), lease: timedelta = timedelta(0)) -> Page:
    leiden = world.store.state.parties[demo.LEIDEN]
    return inbox.pull(world.services, leiden, 0, 100, NOW + at, TRACE, lease)


def test_consent_is_evaluated_at_each_pull_not_at_intake(world: World) -> None:
    first = _pull(world).deliveries[0]
    assert "health" in first["withheld_categories"] and "health" not in first["body"]
    declared = world.declaration(["health"], explicit_health=True)
    world.accept(declared)
    second = _pull(world).deliveries[0]
    assert "health" in second["body"] and "health" not in second["withheld_categories"]
    world.accept(world.withdrawal(declared["body"]["declaration_id"]))
    third, notice = _pull(world, timedelta(seconds=1)).deliveries
    assert "health" not in third["body"]
    pulled = [e for e in world.store.state.log if e.event == "delivery.pulled"]
    assert [("health" in e.categories_delivered) for e in pulled] == [False, True, False, False]
    assert pulled[1].basis["health"] == f"consent:{declared['body']['declaration_id']}"
    # The withdrawal told Leiden what it may no longer use, and where it had it.
    assert notice["type"] == "consent-withdrawn" and "body" not in notice
    assert notice["declaration_id"] == declared["body"]["declaration_id"]
    assert notice["categories"] == ["health"]
    assert notice["affected_deliveries"] == [first["delivery_id"]]
    assert [e.event for e in world.store.state.log].count("notice.delivered") == 1


def test_a_delivery_token_signs_what_was_delivered(world: World) -> None:
    delivery = _pull(world).deliveries[0]
    token = envelope.parse(delivery["delivery_token"].encode(), typ=envelope.DELIVERY_TYP)
    signed = envelope.verify(token, world.services.signer.key).payload
    assert signed == {k: v for k, v in delivery.items() if k != "delivery_token"}


def test_a_leased_page_goes_to_one_puller_until_the_lease_ends(world: World) -> None:
    assert len(_pull(world, lease=timedelta(seconds=60)).deliveries) == 1
    assert _pull(world).deliveries == []  # leased to the first puller
    assert len(_pull(world, timedelta(seconds=61)).deliveries) == 1


def test_an_ack_is_idempotent_and_another_municipalitys_delivery_is_absent(world: World) -> None:
    delivery_id = _pull(world).deliveries[0]["delivery_id"]
    leiden, utrecht = (world.store.state.parties[o] for o in (demo.LEIDEN, demo.UTRECHT))
    with pytest.raises(NotFound):
        inbox.acknowledge(world.services, utrecht, delivery_id, NOW, TRACE)
    inbox.acknowledge(world.services, leiden, delivery_id, NOW, TRACE)
    inbox.acknowledge(world.services, leiden, delivery_id, NOW, TRACE)
    acks = [e.reason for e in world.store.state.log if e.event == "delivery.acknowledged"]
    assert acks == [None, "already-acknowledged"]
    assert _pull(world).deliveries == []


def _assertion(world: World, oin: str, jti: str = "jti-0000001", lifetime: int = 120) -> str:
    claims = bearer.make_claims(oin, NOW, jti, lifetime)
    token = envelope.sign(claims, world.keys[oin], typ=envelope.ASSERTION_TYP)
    return f"Bearer {token}"


def test_an_assertion_authenticates_once_whatever_the_role(world: World) -> None:
    registry = world.services.store.registry
    header = _assertion(world, demo.LEIDEN)
    assert access.authenticate(header, registry, NOW).oin == demo.LEIDEN
    with pytest.raises(Unauthenticated):
        access.authenticate(header, registry, NOW)  # the jti is used up
    assert access.authenticate(_assertion(world, demo.COA), registry, NOW).role == "coa"
    with pytest.raises(Unauthenticated):
        access.authenticate(None, registry, NOW)
    late = NOW + timedelta(seconds=121)
    with pytest.raises(Unauthenticated):
        access.authenticate(_assertion(world, demo.LEIDEN, "jti-0000002"), registry, late)


def test_a_withdrawal_names_only_what_no_other_basis_covers(world: World) -> None:
    """Education stays covered by a second declaration; health does not; never pulled: none."""
    first = world.declaration(["health", "education"], explicit_health=True)
    world.accept(first)
    world.accept(world.declaration(["education"]))
    world.accept(world.withdrawal(first["body"]["declaration_id"]))
    notice = _pull(world, timedelta(seconds=1)).deliveries[-1]
    assert notice["categories"] == ["health"]
    assert notice["affected_deliveries"] == []  # nothing was pulled on it before
