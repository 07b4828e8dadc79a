"""COA's keys pinned by a municipality, and a version-2 profile verified against them (#32).

The pin file (``connectors.common.issuers``): first use pins what the gateway publishes
and says so once; afterwards the gateway's key directory is not asked again, so a key it
swaps in later is refused, with the command that pins a new key; a file that cannot be
read stops, and is never taken for "nothing pinned". The check (``coasigned``): a version
2 is kept with the body COA signed and the marker, a changed disclosure is refused, and a
withdrawal cuts the kept SD-JWT so that what is left still verifies.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from connectors.common import coasigned, issuers, sinks
from connectors.common.client import GatewayClient
from connectors.common.issuers import NotPinned, PinFileError, Pins
from connectors.municipality.console import dossier
from connectors.municipality.console import profiles as profile_reads
from connectors.municipality.console.store import Store
from gateway.client import sdjwt, wire
from gateway.devtools import synthetic
from gateway.domain.wire import jwk, sdprofile
from gateway.errors import InvalidSignature, NotFound

COA = "00000001003214345000"
OTHER = "00000001003214346000"
LEIDEN = "00000001002220647000"


@dataclass
class FakeGateway:
    """The gateway's key directory as a puller sees it, and what was asked of it."""

    keys: dict[str, list[wire.Key]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    oin: str = LEIDEN
    """the puller's own OIN: COA's profile must be addressed to it"""
    profile: dict[str, Any] | None = None
    """what a profile read answers"""

    def get_json(self, path: str, **params: Any) -> dict[str, Any]:
        self.asked.append(path)
        if path.endswith("/profile") and self.profile is not None:
            return self.profile
        oin = path.split("/")[3]
        if oin not in self.keys:
            raise NotFound("no party whose signature its recipients verify has this OIN")
        return {"keys": [jwk.public_jwk(k) for k in self.keys[oin]]}

    def directory(self, role: str | None = None) -> list[dict[str, Any]]:
        return [{"oin": COA, "role": "coa", "name": "COA"}]

    def verify_gateway_token(self, token: str, typ: str) -> dict[str, Any]:
        """A token the fake signs is the members as JSON."""
        found: dict[str, Any] = json.loads(token)
        return found


def _client(gateway: FakeGateway) -> GatewayClient:
    return cast(GatewayClient, gateway)


@pytest.fixture
def coa_key() -> wire.Key:
    return jwk.generate()


@pytest.fixture
def gateway(coa_key: wire.Key) -> FakeGateway:
    return FakeGateway({COA: [coa_key]})


def _profile(key: wire.Key, seed: int = 1) -> tuple[dict[str, Any], str]:
    """A version-2 profile (its payload) as COA issues it, and the compact SD-JWT."""
    rng = random.Random(seed)
    person = synthetic.Newcomer.make(rng)
    payload = {
        **synthetic.payload("handover-profile", synthetic.handover_profile(person, "GM0546", rng),
                            sender=COA, recipient=LEIDEN, newcomer=person,
                            issued_at=datetime(2026, 12, 1, tzinfo=UTC)),
        "version": 2,
    }  # fmt: skip
    return payload, sdjwt.issue(payload, key)


def _delivery(payload: dict[str, Any], token: str, given: list[str]) -> dict[str, Any]:
    """What the gateway hands out: COA's JWT with the disclosures of ``given``."""
    selected = sdprofile.stored(token.encode()).select(given)
    withheld = sorted(set(payload["body"]) - set(given))
    envelope = {k: payload[k] for k in sdprofile.SIGNED if k in payload}
    return {"delivery_id": "d1", **envelope, "recipient": LEIDEN,
            "received_at": "2026-12-01T00:00:01.000000Z", "sd_jwt": selected,
            "withheld_categories": withheld, "delivery_token": "t"}  # fmt: skip


# -- the pin file ---------------------------------------------------------------------


def test_first_use_pins_what_the_gateway_publishes_and_says_so_once(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    told: list[str] = []
    pins = Pins(tmp_path / "state" / "issuer-keys.json", tell=told.append)
    kid = jwk.thumbprint(coa_key)
    assert set(pins.keys(_client(gateway), COA, kid)) == {kid}
    assert len(told) == 1 and kid in told[0] and str(pins.path.absolute()) in told[0]
    assert pins.pinned() == {COA: [kid]}
    document = json.loads(pins.path.read_text())
    [record] = document["issuers"][COA]
    assert record["how"] == "first use" and record["jwk"]["kid"] == kid and "d" not in record["jwk"]
    assert [p.name for p in pins.path.parent.iterdir()] == ["issuer-keys.json"]  # no temp left
    pins.keys(_client(gateway), COA, kid)
    assert len(told) == 1 and len(gateway.asked) == 1  # pinned: the gateway not asked again


def test_a_key_the_gateway_swaps_in_later_is_refused_with_how_to_pin_it(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    pins.keys(_client(gateway), COA, jwk.thumbprint(coa_key))
    swapped = jwk.generate()
    gateway.keys[COA] = [swapped]
    with pytest.raises(NotPinned) as refused:
        pins.keys(_client(gateway), COA, jwk.thumbprint(swapped))
    assert isinstance(refused.value, InvalidSignature)
    assert "compare its thumbprint with that announcement" in refused.value.detail
    assert pins.command(COA, jwk.thumbprint(swapped)) in refused.value.detail
    assert "pin-issuer-key --issuer" in refused.value.detail
    assert pins.pinned() == {COA: [jwk.thumbprint(coa_key)]}


def test_the_operator_pins_a_new_key_only_as_the_gateway_publishes_it(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    pins.keys(_client(gateway), COA, jwk.thumbprint(coa_key))
    rotated = jwk.generate()
    with pytest.raises(NotPinned, match="publishes no key"):
        pins.pin(_client(gateway), COA, jwk.thumbprint(rotated))  # not registered yet
    gateway.keys[COA] = [coa_key, rotated]
    assert pins.pin(_client(gateway), COA, jwk.thumbprint(rotated))
    assert not pins.pin(_client(gateway), COA, jwk.thumbprint(rotated))
    keys = pins.keys(_client(gateway), COA, jwk.thumbprint(rotated))
    assert set(keys) == {jwk.thumbprint(coa_key), jwk.thumbprint(rotated)}
    assert json.loads(pins.path.read_text())["issuers"][COA][1]["how"] == "operator"


def test_a_second_issuer_waits_for_the_operator(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    pins.keys(_client(gateway), COA, jwk.thumbprint(coa_key))
    other = jwk.generate()
    gateway.keys[OTHER] = [other]
    with pytest.raises(NotPinned, match="an issuer not pinned"):
        pins.keys(_client(gateway), OTHER, jwk.thumbprint(other))
    assert set(pins.pinned()) == {COA}


def test_an_issuer_the_gateway_publishes_no_key_for_is_not_pinned(
    tmp_path: Path, gateway: FakeGateway
) -> None:
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    with pytest.raises(NotPinned, match="publishes no key"):
        pins.keys(_client(gateway), OTHER, "A" * 43)
    assert not pins.path.exists()


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"issuers": []}', b'{"issuers": {"x": [{"jwk": {"kty": "OKP"}}]}}'],
)
def test_a_pin_file_that_cannot_be_read_stops_and_is_not_pinned_afresh(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key, content: bytes
) -> None:
    path = tmp_path / "issuer-keys.json"
    path.write_bytes(content)
    pins = Pins(path, tell=lambda _: None)
    with pytest.raises(PinFileError, match="restore it from a backup"):
        pins.keys(_client(gateway), COA, jwk.thumbprint(coa_key))
    assert path.read_bytes() == content and gateway.asked == []


def test_a_kid_from_outside_is_printed_only_as_a_thumbprint() -> None:
    assert issuers.shown_kid("A" * 43) == "A" * 43
    assert "no thumbprint" in issuers.shown_kid("../../etc\n; rm")


# -- the check ------------------------------------------------------------------------


def test_a_version_2_is_kept_with_the_body_coa_signed_and_the_marker(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    payload, token = _profile(coa_key)
    delivery = _delivery(payload, token, ["identity", "placement", "family"])
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    kept = coasigned.with_coa_body(_client(gateway), delivery, pins)
    assert kept["body"] == {c: payload["body"][c] for c in ("identity", "placement", "family")}
    assert kept["coa_signature"] == {"issuer": COA, "kid": jwk.thumbprint(coa_key)}
    assert kept["sd_jwt"] == delivery["sd_jwt"] and kept["delivery_token"] == "t"
    v1 = {k: v for k, v in delivery.items() if k != "sd_jwt"} | {"body": {}}
    assert coasigned.with_coa_body(_client(gateway), v1, None) == v1


def _changed(text: str, category: str) -> str:
    jwt, *disclosures = text.split("~")[:-1]
    out = []
    for d in disclosures:
        items = json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))
        if len(items) == 3 and items[1] == category:
            raw = json.dumps([items[0], category, {"members": []}]).encode()
            d = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        out.append(d)
    return "~".join([jwt, *out]) + "~"


def test_what_is_not_coas_is_refused_in_words_without_personal_data(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    payload, token = _profile(coa_key)
    delivery = _delivery(payload, token, ["identity", "placement", "family"])
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    refusals = {
        "changed": {**delivery, "sd_jwt": _changed(delivery["sd_jwt"], "family")},
        "marker": {**delivery, "coa_signature": {"issuer": COA, "kid": "x"}},
        "body": {**delivery, "body": {"identity": {}}},
        "subject": {**delivery, "subject": {"v_number": "9999999999"}},
        "withheld": {**delivery, "withheld_categories": ["family"]},
    }
    elsewhere = FakeGateway(gateway.keys, oin="00000001002220344000")  # not the addressee
    for name, refused in [*refusals.items(), ("addressed-elsewhere", delivery)]:
        puller = _client(elsewhere if name == "addressed-elsewhere" else gateway)
        with pytest.raises(InvalidSignature) as error:
            coasigned.with_coa_body(puller, refused, pins)
        words = error.value.detail
        assert "delivery d1" in words, name
        for value in (payload["subject"]["v_number"], payload["body"]["identity"]["family_name"]):
            assert value not in words, name
    with pytest.raises(InvalidSignature, match="no file of pinned COA keys"):
        coasigned.with_coa_body(_client(gateway), delivery, None)


def test_a_withdrawal_cuts_the_kept_sd_jwt_and_what_is_left_still_verifies(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    payload, token = _profile(coa_key)
    given = ["identity", "placement", "family", "health"]
    pins = Pins(tmp_path / "issuer-keys.json", tell=lambda _: None)
    kept = coasigned.with_coa_body(_client(gateway), _delivery(payload, token, given), pins)
    notice = {"categories": ["family", "health"], "declaration_id": "decl",
              "withdrawn_at": "2026-12-02T00:00:00Z"}  # fmt: skip
    left = sinks.without_withdrawn(kept, notice, "n1.json")
    assert set(left["body"]) == {"identity", "placement"}
    assert len(left["sd_jwt"].split("~")) == 2 + 2  # identity's and placement's only
    keys = {jwk.thumbprint(coa_key): coa_key}
    again = sdjwt.verify_delivered({**left, "withheld_categories": []}, keys)
    assert again.body == left["body"]
    assert sinks.without_withdrawn(left, notice, "n1.json")["sd_jwt"] == left["sd_jwt"]
    members = len(payload["body"]["health"])
    assert len(kept["sd_jwt"].split("~")) == 2 + 4 + members  # health's members apart


def test_the_console_keeps_a_version_2_read_and_its_dossier_says_signed_by_coa(
    tmp_path: Path, gateway: FakeGateway, coa_key: wire.Key
) -> None:
    payload, token = _profile(coa_key)
    shaped = _delivery(payload, token, ["identity", "placement"])
    members = {k: v for k, v in shaped.items() if k not in ("delivery_id", "delivery_token")}
    gateway.profile = {**members, "profile_token": json.dumps(members)}
    store = Store(tmp_path / "console" / "console.sqlite3")
    v_number = payload["subject"]["v_number"]
    assert profile_reads.read_profile(_client(gateway), store, v_number)
    assert profile_reads.pins_of(store).pinned() == {COA: [jwk.thumbprint(coa_key)]}
    assert (tmp_path / "console" / issuers.PIN_FILE).exists()
    built = dossier.build(store, v_number)
    assert built.profile_signature == {"issuer": COA, "kid": jwk.thumbprint(coa_key)}
    assert [s.state for s in built.profile[:3]] == ["shown", "shown", "withheld"]
    assert built.name  # the verified body names the newcomer
    gateway.profile = {**gateway.profile, "coa_signature": {"issuer": COA, "kid": "x"}}
    members = {k: v for k, v in gateway.profile.items() if k != "profile_token"}
    gateway.profile["profile_token"] = json.dumps(members)
    with pytest.raises(InvalidSignature):  # a marker only the console's own check writes
        profile_reads.read_profile(_client(gateway), store, v_number)
