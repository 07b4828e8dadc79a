"""The profile read over HTTP, on both backends (issue #25).

A municipality's inbox is one stream: once the case system's puller has
acknowledged a profile, no other consumer of that municipality sees it. The
profile read hands it out again to the municipality the newcomer is placed
with, cut by consent in force at the read, audited as a pull.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.wire import envelope
from gateway.errors import BadRequest, NotAuthorised, NotFound
from gateway.storage import engine, tables
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e


def _path(newcomer: Trajectory) -> str:
    return f"/v1/newcomers/{newcomer.person.v_number}/profile"


def _acknowledge_the_profile(cast: demo.Cast, newcomer: Trajectory) -> None:
    """What the case system's puller does: the profile's delivery taken and acknowledged."""
    leiden, after = cast.client(demo.LEIDEN), 0
    while True:
        page = leiden.get_json("/v1/inbox", after=after, limit=500)
        for delivery in page["deliveries"]:
            if delivery["subject"]["v_number"] == newcomer.person.v_number:
                leiden.ack(delivery["delivery_id"])
                return
        assert page["deliveries"], "the profile was never in the inbox"
        after = page["next_cursor"]


def _read(cast: demo.Cast, newcomer: Trajectory) -> dict[str, Any]:
    """Leiden's read, its token checked against the gateway's published key."""
    leiden = cast.client(demo.LEIDEN)
    profile = leiden.get_json(_path(newcomer))
    signed = leiden.verify_gateway_token(profile["profile_token"], envelope.PROFILE_TYP)
    assert signed == {k: v for k, v in profile.items() if k != "profile_token"}
    return profile


def _reads(services: Any, newcomer: Trajectory) -> list[dict[str, Any]]:
    subject = services.pseudonym(newcomer.person.v_number)
    return [
        e["entry"]
        for e in services.store.audit.subject_entries(subject)
        if e["entry"]["event"] == "delivery.pulled" and e["entry"]["reason"] == "profile-read"
    ]


def test_the_placing_municipality_reads_the_profile_it_acknowledged_cut_by_consent_now(
    cast: demo.Cast, server_services: Any
) -> None:
    newcomer = Trajectory(cast, 37_100)
    _acknowledge_the_profile(cast, newcomer)

    profile = _read(cast, newcomer)
    assert "delivery_id" not in profile and profile["type"] == "handover-profile"
    assert profile["subject"]["v_number"] == newcomer.person.v_number
    assert profile["body"]["identity"]["family_name"] == newcomer.person.family_name
    assert set(profile["body"]) == {"identity", "placement"}  # a legal basis, no consent
    assert "family" in profile["withheld_categories"]

    [read] = _reads(server_services, newcomer)
    assert read["actor"] == demo.LEIDEN and read["message_id"] == profile["message_id"]
    assert read["outcome"] == "delivered" and read["type"] == "handover-profile"
    assert set(read["categories_delivered"]) == {"identity", "placement"}
    assert "family" in read["categories_withheld"]
    assert read["basis"]["identity"].startswith("legal:")

    declaration = synthetic.consent_declaration(
        demo.LEIDEN, [demo.COA], ["family"], newcomer.now - timedelta(minutes=1)
    )
    assert newcomer.send("consent-declaration", declaration) == 202
    profile = _read(cast, newcomer)
    assert "family" in profile["body"] and "family" not in profile["withheld_categories"]
    newest = _reads(server_services, newcomer)[-1]
    assert newest["basis"]["family"] == f"consent:{declaration['declaration_id']}"

    withdrawal = {
        "declaration_id": declaration["declaration_id"],
        "withdrawn_at": synthetic.utc(newcomer.now),
    }
    assert newcomer.send("consent-withdrawal", withdrawal) == 202
    profile = _read(cast, newcomer)
    assert "family" not in profile["body"] and "family" in profile["withheld_categories"]
    assert len(_reads(server_services, newcomer)) == 3


def test_only_the_placing_municipality_reads_it(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 37_101)
    with pytest.raises(NotAuthorised):
        cast.client(demo.UTRECHT).get_json(_path(newcomer))
    with pytest.raises(NotAuthorised):  # a provider is handed no profile
        cast.client(demo.PROVIDER).get_json(_path(newcomer))
    with pytest.raises(NotAuthorised):  # nobody placed: as unknown as placed elsewhere
        cast.client(demo.LEIDEN).get_json("/v1/newcomers/0000000001/profile")
    with pytest.raises(BadRequest):
        cast.client(demo.LEIDEN).get_json("/v1/newcomers/12345/profile")

    moved = demo.profile(newcomer.person, random.Random(37_103), newcomer.now,
                         recipient=demo.UTRECHT, municipality_code="GM0344")  # fmt: skip
    coa = cast.client(demo.COA)
    assert coa.submit(coa.sign(moved)).status == 202  # placed anew, with Utrecht
    with pytest.raises(NotAuthorised):
        cast.client(demo.LEIDEN).get_json(_path(newcomer))
    read = cast.client(demo.UTRECHT).get_json(_path(newcomer))
    assert read["message_id"] == moved["message_id"]


def test_an_erased_newcomer_is_not_found(cast: demo.Cast, server_services: Any) -> None:
    newcomer = Trajectory(cast, 37_102)
    subject = server_services.pseudonym(newcomer.person.v_number)
    keys = tables.subject_keys
    with engine.write(storage_of(server_services).engine, lock=False) as conn:
        conn.execute(update(keys).where(keys.c.subject == subject).values(wrapped_key=None))
    with pytest.raises(NotFound):
        cast.client(demo.LEIDEN).get_json(_path(newcomer))
    with pytest.raises(NotAuthorised):  # and to anyone else, nothing at all
        cast.client(demo.UTRECHT).get_json(_path(newcomer))
