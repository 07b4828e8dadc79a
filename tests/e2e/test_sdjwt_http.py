"""The version-2 handover profile over HTTP, on both backends (issue #32).

COA sends its profile as one SD-JWT it signs; the gateway forwards COA's own JWT with only
the disclosures that may leave, and Leiden checks them itself against COA's keys as the
gateway publishes them (``GET /v1/parties/{COA}/keys``), with ``gateway.client.sdjwt``.
Consent given later brings a category's disclosure (a new delivery that ``supersedes`` the
first), a withdrawal takes it away at the next read, and a disclosure changed in the
gateway's own database still leaves it (its read never fails) but is refused by Leiden.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, update

from connectors.common.client import Submission
from gateway.bootstrap import storage_of
from gateway.client import sdjwt as client_sdjwt
from gateway.devtools import demo, synthetic
from gateway.domain import vault
from gateway.domain.wire import envelope, jwk, sdjwt
from gateway.errors import NotFound
from gateway.service.services import Services
from gateway.storage import engine, tables
from tests import sdjwt_node

pytestmark = pytest.mark.e2e
LEGAL = ("identity", "placement")
"""what leaves by a legal basis, without any consent"""


@dataclass(frozen=True)
class Placed:
    person: synthetic.Newcomer
    plain: dict[str, Any]
    """the profile's payload as COA wrote it, its body plain"""
    sent: str
    """COA's SD-JWT of it"""
    now: datetime


def _place(cast: demo.Cast, seed: int, *, batch: bool = False) -> Placed:
    """A newcomer COA places with Leiden by a version-2 profile (seeds 32,300 and up)."""
    rng, now = random.Random(seed), datetime.now(UTC)
    person = synthetic.Newcomer.make(rng)
    plain = {**demo.profile(person, rng, now), "version": 2}
    coa = cast.client(demo.COA)
    sent = coa.sign(plain)
    assert client_sdjwt.is_sd(sent.encode())
    [submitted] = coa.submit_batch([sent]) if batch else [coa.submit(sent)]
    assert isinstance(submitted, Submission) and submitted.status == 202
    return Placed(person, plain, sent, now)


def _coa_keys(cast: demo.Cast) -> dict[str, jwk.Key]:
    """COA's keys as Leiden fetches them from the gateway, to pin."""
    found = cast.client(demo.LEIDEN).get_json(f"/v1/parties/{demo.COA}/keys")["keys"]
    return {k["kid"]: jwk.import_jwk(k) for k in found}


def _pull(cast: demo.Cast, services: Services, placed: Placed) -> list[dict[str, Any]]:
    """Leiden's pending deliveries about the newcomer, each delivery token checked, then
    acknowledged (none is left for another test's puller on this server); the pull starts
    at the newcomer's first delivery (the rest of the inbox is other tests')."""
    subject, table = services.pseudonym(placed.person.v_number), tables.deliveries
    with engine.read(storage_of(services).engine) as conn:
        first = conn.execute(
            select(func.min(table.c.cursor)).where(
                table.c.recipient == demo.LEIDEN, table.c.subject == subject
            )
        ).scalar_one()
    leiden = cast.client(demo.LEIDEN)
    page = leiden.get_json("/v1/inbox", after=first - 1, limit=50)
    v_number = placed.person.v_number
    found = [d for d in page["deliveries"] if d["subject"]["v_number"] == v_number]
    for delivery in found:
        signed = leiden.verify_gateway_token(delivery["delivery_token"], envelope.DELIVERY_TYP)
        assert signed == {k: v for k, v in delivery.items() if k != "delivery_token"}
        leiden.ack(delivery["delivery_id"])
    return found


def _read(cast: demo.Cast, placed: Placed) -> dict[str, Any]:
    """Leiden's profile read, its token checked."""
    leiden = cast.client(demo.LEIDEN)
    profile = leiden.get_json(f"/v1/newcomers/{placed.person.v_number}/profile")
    signed = leiden.verify_gateway_token(profile["profile_token"], envelope.PROFILE_TYP)
    assert signed == {k: v for k, v in profile.items() if k != "profile_token"}
    return profile


def _verified(placed: Placed, delivered: dict[str, Any], keys: dict[str, jwk.Key]) -> set[str]:
    """What Leiden's own check of a delivery or read finds: the categories, as COA signed."""
    assert "body" not in delivered
    verified = client_sdjwt.verify_delivered(delivered, keys)
    assert verified.issuer == demo.COA and verified.kid in keys
    assert verified.body == {c: placed.plain["body"][c] for c in verified.body}
    assert not set(verified.body) & set(delivered["withheld_categories"])
    return set(verified.body)


def test_a_version_2_profile_is_accepted_and_the_same_bytes_again_get_200(
    cast: demo.Cast, server_services: Services
) -> None:
    placed = _place(cast, 32_300)
    assert cast.client(demo.COA).submit(placed.sent).status == 200
    [delivery] = _pull(cast, server_services, placed)
    assert delivery["version"] == 2 and delivery["type"] == "handover-profile"
    keys = _coa_keys(cast)
    assert jwk.thumbprint(cast.keys[demo.COA]) in keys  # (other tests may add COA keys)
    assert _verified(placed, delivery, keys) == set(LEGAL)
    assert len(sdjwt.parse(delivery["sd_jwt"]).disclosures) == len(LEGAL)
    assert set(delivery["withheld_categories"]) == set(placed.plain["body"]) - set(LEGAL)
    with pytest.raises(NotFound):  # only an issuer recipients verify has its keys published
        cast.client(demo.LEIDEN).get_json(f"/v1/parties/{demo.LEIDEN}/keys")


def test_the_batch_endpoint_takes_a_version_2_profile_as_an_item(
    cast: demo.Cast, server_services: Services
) -> None:
    placed = _place(cast, 32_305, batch=True)
    [delivery] = _pull(cast, server_services, placed)
    assert _verified(placed, delivery, _coa_keys(cast)) == set(LEGAL)


def _consent(cast: demo.Cast, placed: Placed, categories: list[str]) -> dict[str, Any]:
    declaration = synthetic.consent_declaration(
        demo.LEIDEN, [demo.COA], categories, placed.now - timedelta(minutes=1),
        explicit_health=True,
    )  # fmt: skip
    leiden = cast.client(demo.LEIDEN)
    payload = synthetic.payload("consent-declaration", declaration, sender=demo.LEIDEN,
                                recipient=demo.LEIDEN, newcomer=placed.person,
                                issued_at=placed.now)  # fmt: skip
    assert leiden.submit(leiden.sign(payload)).status == 202
    return declaration


def _withdraw(cast: demo.Cast, placed: Placed, declaration_id: str) -> None:
    leiden = cast.client(demo.LEIDEN)
    body = {"declaration_id": declaration_id, "withdrawn_at": synthetic.utc(placed.now)}
    payload = synthetic.payload("consent-withdrawal", body, sender=demo.LEIDEN,
                                recipient=demo.LEIDEN, newcomer=placed.person,
                                issued_at=placed.now)  # fmt: skip
    assert leiden.submit(leiden.sign(payload)).status == 202


def test_consent_given_later_brings_its_disclosures_and_a_withdrawal_takes_them_away(
    cast: demo.Cast, server_services: Services
) -> None:
    placed, keys = _place(cast, 32_301), _coa_keys(cast)
    [first] = _pull(cast, server_services, placed)
    assert _verified(placed, first, keys) == set(LEGAL)  # and acknowledged

    declaration = _consent(cast, placed, ["family", "health"])
    [again] = _pull(cast, server_services, placed)
    assert again["supersedes"] == [first["delivery_id"]]
    assert _verified(placed, again, keys) == {*LEGAL, "family", "health"}
    nested = len(placed.plain["body"]["health"])  # health's members, each its own disclosure
    assert len(sdjwt.parse(again["sd_jwt"]).disclosures) == len(LEGAL) + 2 + nested
    assert _verified(placed, _read(cast, placed), keys) == {*LEGAL, "family", "health"}

    _withdraw(cast, placed, declaration["declaration_id"])
    read = _read(cast, placed)
    assert _verified(placed, read, keys) == set(LEGAL)
    assert {"family", "health"} <= set(read["withheld_categories"])
    [notice] = _pull(cast, server_services, placed)  # names the delivery that carried them
    assert notice["type"] == "consent-withdrawn" and "sd_jwt" not in notice
    assert notice["affected_deliveries"] == [again["delivery_id"]]
    assert set(notice["categories"]) == {"family", "health"}


def _tamper(services: Services, message_id: str, change: Callable[[bytes], bytes]) -> None:
    """Change a stored message in the gateway's database, sealed again with its subject's
    data key as storage seals it (``vault.seal``, the message id as associated data)."""
    store, m, k = storage_of(services), tables.messages, tables.subject_keys
    with engine.write(store.engine, lock=False) as conn:
        row = conn.execute(
            select(m.c.sealed, m.c.subject, k.c.wrapped_key)
            .join(k, k.c.subject == m.c.subject)
            .where(m.c.message_id == message_id)
        ).one()
        key = store.inbox.vault.unwrap(row.wrapped_key, row.subject)
        changed = change(vault.unseal(key, row.sealed, message_id))
        sealed = vault.seal(key, changed, message_id)
        conn.execute(update(m).where(m.c.message_id == message_id).values(sealed=sealed))


def _other_housing(raw: bytes) -> bytes:
    """COA's SD-JWT with placement's disclosure replaced by one of the same name whose
    value differs (another housing status), as whoever holds the database could."""
    found = sdjwt.parse(raw.decode("ascii"))
    changed = []
    for disclosure in found.disclosures:
        items = sdjwt.decoded(disclosure)
        if items is not None and items[1:2] == ["placement"]:
            value = {**items[2], "housing_status": "housed"}
            disclosure = sdjwt.disclose("placement", value, salt=items[0])
        changed.append(disclosure)
    assert changed != list(found.disclosures)
    return sdjwt.Presentation(found.jwt, tuple(changed)).serialize().encode("ascii")


def test_a_disclosure_changed_in_the_gateways_database_is_caught_by_the_municipality(
    cast: demo.Cast, server_services: Services
) -> None:
    placed, keys = _place(cast, 32_302), _coa_keys(cast)
    _tamper(server_services, placed.plain["message_id"].lower(), _other_housing)

    [delivery] = _pull(cast, server_services, placed)  # the gateway answers 200
    read = _read(cast, placed)  # and so does its profile read
    for delivered in (delivery, read):
        assert delivered["withheld_categories"]  # cut as ever, by the categories' names
        assert _housing(delivered["sd_jwt"]) == "housed"  # forwarded as it is now stored
        with pytest.raises(sdjwt.Refused, match="referenced by no digest"):
            client_sdjwt.verify_delivered(delivered, keys)
    assert _housing(placed.sent) == "in-azc"  # what COA signed


def _housing(text: str) -> Any:
    [placement] = [items[2] for d in sdjwt.parse(text).disclosures
                   if (items := sdjwt.decoded(d)) and items[1:2] == ["placement"]]  # fmt: skip
    return placement["housing_status"]


REFUSED: dict[str, tuple[Callable[[Placed, jwk.Key], bytes], str, int, str]] = {
    "key-binding-jwt": (
        lambda p, key: (p.sent + envelope.sign({"nonce": "n"}, key, typ="kb+jwt")).encode(),
        client_sdjwt.MEDIA_TYPE, 400, "malformed",
    ),
    "version-2-as-a-jws": (
        lambda p, key: envelope.sign(p.plain, key, typ=envelope.MESSAGE_TYP).encode(),
        "application/jose", 400, "malformed",
    ),
    "sd-jwt-as-jose": (lambda p, _: p.sent.encode(), "application/jose", 415,
                       "unsupported-media-type"),
    "jws-as-sd-jwt": (
        lambda p, key: envelope.sign({**p.plain, "version": 1}, key,
                                     typ=envelope.MESSAGE_TYP).encode(),
        client_sdjwt.MEDIA_TYPE, 415, "unsupported-media-type",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def unsent(cast: demo.Cast) -> Placed:
    """A version-2 profile COA signed but never sent: the refusals' material."""
    rng = random.Random(32_303)
    person = synthetic.Newcomer.make(rng)
    now = datetime.now(UTC)
    plain = {**demo.profile(person, rng, now), "version": 2}
    return Placed(person, plain, cast.client(demo.COA).sign(plain), now)


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_form_is_a_problem_and_one_audit_entry_without_content(
    case: str, cast: demo.Cast, server_services: Services, unsent: Placed
) -> None:
    make, media, status, code = REFUSED[case]
    store = storage_of(server_services)
    messages, entries = store.count("messages"), store.count("audit_entries")
    response = requests.post(
        cast.url + "/v1/messages", data=make(unsent, cast.keys[demo.COA]),
        headers={"Content-Type": media}, timeout=10,
    )  # fmt: skip
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert store.count("messages") == messages
    [entry] = [e["entry"] for e in store.audit.entries(entries)]
    assert (entry["event"], entry["reason"], entry["outcome"]) == ("message.refused", code,
                                                                  "refused")  # fmt: skip
    assert [entry.get(m) for m in ("actor", "subject", "message_id", "type")] == [None] * 4
    text = response.text + json.dumps(entry)
    person = unsent.person
    for value in (person.v_number, person.bsn, person.family_name, unsent.plain["message_id"]):
        assert value is None or value not in text


def test_the_reference_implementation_verifies_a_delivery_through_the_real_server(
    cast: demo.Cast, server_services: Services
) -> None:
    sdjwt_node.require()
    placed = _place(cast, 32_304)
    [delivery] = _pull(cast, server_services, placed)
    [public] = [k for k in cast.client(demo.LEIDEN).get_json(f"/v1/parties/{demo.COA}/keys")
                ["keys"] if k["kid"] == jwk.thumbprint(cast.keys[demo.COA])]  # fmt: skip
    checked = sdjwt_node.verify(delivery["sd_jwt"], public)
    body = {c: placed.plain["body"][c] for c in LEGAL}
    iat = int(datetime.fromisoformat(placed.plain["issued_at"]).timestamp())
    assert checked == {"ok": True, "payload": {**placed.plain, "body": body,
                                               "iss": demo.COA, "iat": iat}}  # fmt: skip
