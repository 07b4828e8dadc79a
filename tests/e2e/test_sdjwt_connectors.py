"""COA's own signature end to end, through the connectors as subprocesses (issue #32).

COA sends its export as version 2 (``--format sd-jwt``); Leiden's puller pins COA's key
on first use and keeps each profile with the body COA signed and ``coa_signature``. Then
whoever runs the gateway changes a category in its database (the stored message unsealed,
a disclosure changed under its salt, sealed again): the gateway forwards it under a
delivery token of its own that verifies, and only COA's signature tells. The puller
refuses it, keeps nothing and acknowledges nothing, until the message is as COA sent it.
Last, COA signs with a key the puller never pinned: refused, with the command that pins
it, which the operator runs after comparing the thumbprint.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connectors.common.client import GatewayClient
from gateway.bootstrap import storage_of
from gateway.client import wire
from gateway.devtools import demo, samplefiles, synthetic
from gateway.domain import vault
from gateway.domain.audit import events
from gateway.domain.parties import KeyRecord
from gateway.domain.wire import jwk
from gateway.service import registry
from gateway.service.services import Services
from gateway.storage import engine, tables
from tests.e2e.connector_world import SAMPLES, World, messages_of, own_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with own_gateway(tmp_path) as built:
        yield built


def _pull(world: World, out: Path) -> Any:
    """Leiden's puller into ``out``, with its pin file in the working folder."""
    return world.run(demo.LEIDEN, "municipality", "pull", "--out", str(out),
                     "--issuer-keys", str(world.tmp / "issuer-keys.json"))  # fmt: skip


def _kept(out: Path) -> dict[str, dict[str, Any]]:
    """The kept files by message id."""
    return {d["message_id"]: d for d in (json.loads(p.read_text()) for p in out.glob("*.json"))}


def _changed_disclosure(raw: bytes, category: str) -> bytes:
    """COA's SD-JWT with ``category``'s disclosure holding another value under its salt."""
    jwt, *disclosures = raw.decode("ascii").split("~")[:-1]
    out = []
    for disclosure in disclosures:
        items = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
        if len(items) == 3 and items[1] == category:
            value = {**items[2], "family_name": "Anders"}
            encoded = json.dumps([items[0], category, value]).encode()
            disclosure = base64.urlsafe_b64encode(encoded).rstrip(b"=").decode("ascii")
        out.append(disclosure)
    return ("~".join([jwt, *out]) + "~").encode("ascii")


def _reseal(services: Services, message_id: str, sealed: bytes | None = None) -> bytes:
    """The stored message changed as whoever runs the gateway could: unsealed with its
    subject's key, its identity disclosure changed, sealed again (or ``sealed`` put back).
    What was stored before."""
    storage = storage_of(services)
    messages, keys = tables.messages, tables.subject_keys
    with engine.write(storage.engine, lock=False) as conn:
        row = conn.execute(
            select(messages.c.sealed, keys.c.wrapped_key, keys.c.subject)
            .join(keys, keys.c.subject == messages.c.subject)
            .where(messages.c.message_id == message_id)
        ).one()
        if sealed is None:
            data_key = storage.inbox.vault.unwrap(row.wrapped_key, row.subject)
            raw = vault.unseal(data_key, row.sealed, message_id)
            sealed = vault.seal(data_key, _changed_disclosure(raw, "identity"), message_id)
        conn.execute(
            update(messages).where(messages.c.message_id == message_id).values(sealed=sealed)
        )
    return bytes(row.sealed)


def _coa_client(world: World, key: jwk.Key) -> GatewayClient:
    return GatewayClient(world.server.url, demo.COA, key, retries=2)


def _one_more_profile(world: World, key: jwk.Key, seed: int) -> dict[str, Any]:
    """COA places one more newcomer with Leiden, as version 2 signed with ``key``."""
    rng = random.Random(seed)
    person = synthetic.Newcomer.make(rng)
    payload = {**demo.profile(person, rng, datetime.now(UTC)), "version": 2}
    coa = _coa_client(world, key)
    assert coa.submit(coa.sign(payload)).status == 202
    return payload


def _coa_sends_version_2(world: World) -> None:
    sent = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"), "--format", "sd-jwt",
                     "--receipts", str(world.tmp / "coa.receipts.jsonl"))  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "accepted (202): 60" in sent.stdout
    assert messages_of(world.services, "handover-profile") == 60
    with engine.read(storage_of(world.services).engine) as conn:
        versions = conn.execute(select(tables.messages.c.version)).scalars().all()
    assert set(versions) == {2}


def _leiden_keeps_what_coa_signed(world: World, out: Path) -> dict[str, dict[str, Any]]:
    in_leiden = sum(1 for _, place, _ in samplefiles.newcomers() if place == samplefiles.LEIDEN)
    pulled = _pull(world, out)
    assert pulled.returncode == 0, pulled.stderr
    kid = jwk.thumbprint(world.cast.keys[demo.COA])
    assert pulled.stderr.count("pinned COA's keys") == 1 and kid in pulled.stderr
    kept = _kept(out)
    assert len(kept) == in_leiden and f"new: {in_leiden}," in pulled.stdout
    assert f"COA's own signature verified (a pinned key): {in_leiden}" in pulled.stdout
    for document in kept.values():
        assert document["version"] == 2 and document["sd_jwt"].count("~") >= 3
        assert document["coa_signature"] == {"issuer": demo.COA, "kid": kid}
        assert {"identity", "placement"} <= set(document["body"])
        assert not set(document["body"]) & set(document["withheld_categories"])
        # the gateway's token signs the delivery as it came: without body and the marker
        signed = world.cast.client(demo.LEIDEN).verify_gateway_token(
            document["delivery_token"], wire.DELIVERY_TYP
        )
        assert signed == {k: v for k, v in document.items()
                          if k not in ("body", "coa_signature", "delivery_token")}  # fmt: skip
    pins = json.loads((world.tmp / "issuer-keys.json").read_text())
    assert [r["jwk"]["kid"] for r in pins["issuers"][demo.COA]] == [kid]
    return kept


def test_coa_signs_version_2_and_leiden_refuses_what_the_gateway_changed(world: World) -> None:
    _coa_sends_version_2(world)
    out = world.tmp / "leiden-inbox"
    _leiden_keeps_what_coa_signed(world, out)

    # A category changed in the gateway's database is forwarded, and refused.
    coa_key = world.cast.keys[demo.COA]
    payload = _one_more_profile(world, coa_key, 32_100)
    original = _reseal(world.services, payload["message_id"])
    refused = _pull(world, out)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "COA's signature over the version-2 profile does not hold" in refused.stderr
    assert "referenced by no digest" in refused.stderr
    person = payload["body"]["identity"]
    for value in (person["v_number"], person["family_name"], person["given_names"], "Anders"):
        assert value not in refused.stderr + refused.stdout
    assert payload["message_id"] not in _kept(out)
    waiting = world.cast.client(demo.LEIDEN).get_json("/v1/inbox")["deliveries"]
    assert [d["message_id"] for d in waiting] == [payload["message_id"]]  # not acknowledged

    # As COA sent it again, it is kept.
    _reseal(world.services, payload["message_id"], original)
    again = _pull(world, out)
    assert again.returncode == 0, again.stderr
    assert _kept(out)[payload["message_id"]]["body"]["identity"] == person
    assert "pinned COA's keys" not in again.stderr


def test_a_key_leiden_never_pinned_is_refused_until_the_operator_pins_it(world: World) -> None:
    out = world.tmp / "leiden-inbox"
    first = _one_more_profile(world, world.cast.keys[demo.COA], 32_200)
    assert _pull(world, out).returncode == 0
    assert _kept(out)[first["message_id"]]["coa_signature"]["issuer"] == demo.COA

    rotated = jwk.generate()
    now = datetime.now(UTC)
    record = KeyRecord(kid=jwk.thumbprint(rotated), oin=demo.COA, jwk=jwk.public_jwk(rotated),
                       not_before=now - timedelta(minutes=1))  # fmt: skip
    registry.register_key(world.services, record, now, events.new_trace_id())
    payload = _one_more_profile(world, rotated, 32_201)
    refused = _pull(world, out)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"signed by COA key {record.kid}, which is not pinned" in refused.stderr
    pin = f"pin-issuer-key --issuer {demo.COA} --kid {record.kid} --issuer-keys"
    assert pin in refused.stderr
    assert payload["message_id"] not in _kept(out)
    assert len(world.cast.client(demo.LEIDEN).get_json("/v1/inbox")["deliveries"]) == 1

    pins = ("--issuer-keys", str(world.tmp / "issuer-keys.json"))
    listed = world.run(demo.LEIDEN, "municipality", "pin-issuer-key", *pins)
    assert listed.returncode == 0, listed.stderr
    assert f"{record.kid} (not pinned)" in listed.stdout
    assert f"{jwk.thumbprint(world.cast.keys[demo.COA])} (pinned)" in listed.stdout
    pinned = world.run(demo.LEIDEN, "municipality", "pin-issuer-key", "--kid", record.kid, *pins)
    assert pinned.returncode == 0, pinned.stderr
    assert f"pinned {record.kid} for {demo.COA}" in pinned.stdout
    kept = _pull(world, out)
    assert kept.returncode == 0, kept.stderr
    assert _kept(out)[payload["message_id"]]["coa_signature"]["kid"] == record.kid
