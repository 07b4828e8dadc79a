"""The version-2 handover profile (issue #32): COA's SD-JWT through its three readers.

Intake (``parse`` then ``verify``) refuses each rule of the profile by name; the gateway's
own lenient read (``stored``) forwards a cut (``Stored.select``) it never judges; the
municipality (``verify_delivered``) checks that cut against COA's key it pinned, and the
delivery's members against what COA signed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc.jwk import OKPKey

from gateway.devtools import demo, synthetic
from gateway.domain.vocabulary import HANDOVER_PROFILE
from gateway.domain.wire import envelope, sdjwt, sdprofile
from gateway.domain.wire.jwk import thumbprint
from gateway.errors import GatewayError, InvalidSignature, MalformedMessage, UnsupportedHeader
from tests.helpers import forge

KEY, OTHER = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("Ed25519")
SIGNER, KID = envelope.Signer(KEY), thumbprint(KEY)
NOW = datetime(2026, 11, 23, 10, 0, 7, tzinfo=UTC)
_RNG = random.Random(3201)
PERSON = synthetic.Newcomer.make(_RNG)
PLAIN: dict[str, Any] = {**demo.profile(PERSON, _RNG, NOW), "version": 2}
CATEGORIES = tuple(sorted(PLAIN["body"]))
ISSUED = sdprofile.issue(PLAIN, SIGNER)


def _parts(text: str) -> tuple[dict[str, Any], list[str]]:
    """The issuer-signed JWT's payload and the disclosures of a compact SD-JWT."""
    found = sdjwt.parse(text)
    signed = envelope.parse(found.jwt.encode(), typ=sdprofile.SD_TYP).payload
    return signed, list(found.disclosures)


def _join(jwt: str, disclosures: Iterable[str]) -> str:
    return sdjwt.Presentation(jwt, tuple(disclosures)).serialize()


def _intake(text: str) -> dict[str, Any]:
    """What intake does (step 1 and 3): the gate, COA's signature, the disclosures."""
    return sdprofile.verify_message(sdprofile.parse_message(text.encode()), KEY).payload


def _disclosure_of(category: str, disclosures: Iterable[str] = _parts(ISSUED)[1]) -> str:
    return next(d for d in disclosures if (sdjwt.decoded(d) or [])[1:2] == [category])


def _altered(disclosure: str) -> str:
    """A disclosure of the same name with a changed value."""
    items = sdjwt.decoded(disclosure)
    assert items is not None and len(items) == 3
    return sdjwt.disclose(items[1], {**items[2], "altered": True}, salt=items[0])


def _nested_of_health(disclosures: list[str]) -> list[str]:
    health = sdjwt.decoded(_disclosure_of("health", disclosures))
    assert health is not None
    inner = set(health[2]["_sd"])
    return [d for d in disclosures if sdjwt.digest(d) in inner]


# -- round trip ----------------------------------------------------------------------


def test_issue_then_parse_then_verify_is_the_plain_payload() -> None:
    signed, disclosures = _parts(ISSUED)
    assert set(signed) == {*PLAIN, "iss", "iat", "_sd_alg"} and signed["iss"] == demo.COA
    assert signed["iat"] == int(NOW.timestamp()) and set(signed["body"]) == {"_sd"}
    assert len(signed["body"]["_sd"]) == sdprofile.BODY_DIGESTS
    nested = _nested_of_health(disclosures)
    assert len(nested) == len(PLAIN["body"]["health"]) == 3
    assert len(disclosures) == len(CATEGORIES) + len(nested)  # one per category, health apart
    assert _intake(ISSUED) == PLAIN
    assert sdprofile.payload_of(ISSUED.encode()) == PLAIN
    assert sdprofile.parse(ISSUED.encode()).header.typ == sdprofile.SD_TYP


def _delivery(text: str, withheld: Iterable[str] = (), **members: Any) -> dict[str, Any]:
    signed = {m: PLAIN[m] for m in sdprofile.SIGNED}
    return {**signed, "sd_jwt": text, "withheld_categories": list(withheld), **members}


SELECTIONS = {
    "nothing": (),
    "legal-basis": ("identity", "placement"),
    "health-alone": ("health",),
    "consented": ("family", "health", "identity", "placement"),
    "everything": CATEGORIES,
}


@pytest.mark.parametrize("name", list(SELECTIONS))
def test_a_stored_cut_is_what_the_municipality_verifies(name: str) -> None:
    chosen = SELECTIONS[name]
    kept = sdprofile.stored(ISSUED.encode())
    assert kept.payload == PLAIN and set(kept.by_category) == set(CATEGORIES)
    cut = kept.select([*chosen, "no-such-category"])
    withheld = [c for c in CATEGORIES if c not in chosen]
    verified = sdprofile.verify_delivered(_delivery(cut, withheld), {KID: KEY})
    assert verified.body == {c: PLAIN["body"][c] for c in chosen}
    assert (verified.issuer, verified.kid) == (demo.COA, KID)
    assert len(_parts(cut)[1]) == len(chosen) + (3 if "health" in chosen else 0)


def test_a_message_id_in_another_case_is_the_same_id() -> None:
    cut = sdprofile.stored(ISSUED.encode()).select(["identity"])
    upper = _delivery(cut, message_id=PLAIN["message_id"].upper())
    assert set(sdprofile.verify_delivered(upper, {KID: KEY}).body) == {"identity"}


def test_a_profile_coa_addressed_to_another_municipality_is_refused() -> None:
    cut = sdprofile.stored(ISSUED.encode()).select(["identity"])
    assert sdprofile.verify_delivered(_delivery(cut), {KID: KEY}, recipient=PLAIN["recipient"])
    with pytest.raises(MalformedMessage, match="addressed this profile to another party"):
        sdprofile.verify_delivered(_delivery(cut), {KID: KEY}, recipient=demo.UTRECHT)


# -- intake refuses each rule of the profile -------------------------------------------


def _resigned(change: Callable[[dict[str, Any]], Any], typ: str = sdprofile.SD_TYP) -> str:
    """COA's message with its signed payload changed and signed again (every disclosure)."""
    signed, disclosures = _parts(ISSUED)
    change(signed)
    return _join(SIGNER.sign(signed, typ), disclosures)


def _decoy(signed: dict[str, Any]) -> str:
    ours = {sdjwt.digest(d) for d in _parts(ISSUED)[1]}
    decoy: str = next(d for d in signed["body"]["_sd"] if d not in ours)
    return decoy


RESIGNED: dict[str, tuple[Callable[[dict[str, Any]], Any], type[GatewayError], str]] = {
    "member-in-clear": (lambda p: p.update(note="x"), MalformedMessage,
                        "members not allowed in clear: note"),
    "cnf-in-clear": (lambda p: p.update(cnf={"jwk": {}}), MalformedMessage,
                     "members not allowed in clear: cnf"),
    "no-iss": (lambda p: p.pop("iss"), MalformedMessage, "missing: iss"),
    "no-iat": (lambda p: p.pop("iat"), MalformedMessage, "missing: iat"),
    "no-_sd_alg": (lambda p: p.pop("_sd_alg"), MalformedMessage, "missing: _sd_alg"),
    "_sd_alg-sha-512": (lambda p: p.update(_sd_alg="sha-512"), MalformedMessage,
                        "_sd_alg must be sha-256"),
    "another-type": (lambda p: p.update(type="progress-report"), MalformedMessage,
                     "only handover-profile version 2 travels as an SD-JWT"),
    "version-1": (lambda p: p.update(version=1), MalformedMessage,
                  "only handover-profile version 2 travels as an SD-JWT"),
    "body-member-in-clear": (lambda p: p["body"].update(identity={}), MalformedMessage,
                             "the body holds nothing in clear"),
    "15-digests": (lambda p: p["body"]["_sd"].remove(_decoy(p)), MalformedMessage,
                   "the body's _sd holds 16 SHA-256 digests"),
    "17-digests": (lambda p: p["body"]["_sd"].append(sdjwt.digest("x")), MalformedMessage,
                   "the body's _sd holds 16 SHA-256 digests"),
    "_sd-outside-the-body": (lambda p: p["subject"].update(_sd=[_decoy(p)]), MalformedMessage,
                             "only the body conceals anything"),
    "...-outside-the-body": (lambda p: p.update(staff=[{"...": _decoy(p)}]), MalformedMessage,
                             "only the body conceals anything"),
    "iss-not-the-sender": (lambda p: p.update(iss=demo.LEIDEN), MalformedMessage,
                           "iss must be the sender"),
    "iat-another-second": (lambda p: p.update(iat=p["iat"] + 1), MalformedMessage,
                           "iat must be the second of issued_at"),
    "iat-a-fraction": (lambda p: p.update(iat=p["iat"] + 0.0), MalformedMessage,
                       "iat must be the second of issued_at"),
}  # fmt: skip


@pytest.mark.parametrize("rule", list(RESIGNED))
def test_intake_refuses_a_signed_payload_against_the_profile(rule: str) -> None:
    change, error, said = RESIGNED[rule]
    with pytest.raises(error, match=f"^{re.escape(said)}") as refused:
        _intake(_resigned(change))
    assert type(refused.value) is error


def test_intake_refuses_another_typ() -> None:
    with pytest.raises(UnsupportedHeader, match=re.escape(f"typ must be {sdprofile.SD_TYP}")):
        _intake(_resigned(lambda p: None, typ="example+sd-jwt"))


def test_intake_refuses_a_key_binding_jwt() -> None:
    key_binding = SIGNER.sign({"nonce": "n", "aud": "gateway", "iat": 0}, "kb+jwt")
    with pytest.raises(MalformedMessage, match="no key-binding JWT"):
        _intake(ISSUED + key_binding)


def test_intake_refuses_version_2_as_a_jws() -> None:
    jws = envelope.sign(PLAIN, KEY, typ=envelope.MESSAGE_TYP)
    with pytest.raises(MalformedMessage, match="this version travels as an SD-JWT"):
        _intake(jws)
    version_1 = envelope.sign({**PLAIN, "version": 1}, KEY, typ=envelope.MESSAGE_TYP)
    assert _intake(version_1)["version"] == 1  # version 1 still is a JWS


def test_intake_refuses_a_signature_that_does_not_verify() -> None:
    signed, disclosures = _parts(ISSUED)
    forged = forge({"alg": "EdDSA", "kid": KID, "typ": sdprofile.SD_TYP}, signed, OTHER)
    with pytest.raises(InvalidSignature):
        _intake(_join(forged, disclosures))


def _with(disclosures: Callable[[list[str]], list[str]]) -> str:
    jwt = sdjwt.parse(ISSUED).jwt
    return _join(jwt, disclosures(list(_parts(ISSUED)[1])))


DISCLOSED: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "unreferenced": (lambda ds: [*ds, sdjwt.disclose("extra", 1)], "referenced by no digest"),
    "given-twice": (lambda ds: [*ds, ds[0]], "a disclosure given twice"),
    "altered": (lambda ds: [_altered(d) if d == _disclosure_of("identity") else d for d in ds],
                "referenced by no digest"),
    "hole-inside-health": (lambda ds: [d for d in ds if d != _nested_of_health(ds)[0]],
                           "a digest inside a category without its disclosure"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DISCLOSED))
def test_intake_refuses_disclosures_that_rfc_9901_or_the_profile_rejects(case: str) -> None:
    change, said = DISCLOSED[case]
    with pytest.raises(sdjwt.Refused, match=said):
        _intake(_with(change))


def _signed_body(digests: list[str], disclosures: list[str]) -> str:
    """The envelope of COA's message around a body of ``digests`` (decoys to 16)."""
    decoys = [sdjwt.digest(f"decoy {n}") for n in range(sdprofile.BODY_DIGESTS - len(digests))]
    signed, _ = _parts(ISSUED)
    signed["body"] = {"_sd": sorted(digests + decoys)}
    return _join(SIGNER.sign(signed, sdprofile.SD_TYP), disclosures)


def test_intake_refuses_a_decoy_inside_a_category() -> None:
    health = PLAIN["body"]["health"]
    nested = [sdjwt.disclose(name, value) for name, value in health.items()]
    inner = sorted([*map(sdjwt.digest, nested), sdjwt.digest("a decoy in health")])
    category = sdjwt.disclose("health", {"_sd": inner})
    with pytest.raises(sdjwt.Refused, match="a digest inside a category without its disclosure"):
        _intake(_signed_body([sdjwt.digest(category)], [category, *nested]))
    fair = sdjwt.disclose("health", {"_sd": sorted(map(sdjwt.digest, nested))})
    assert _intake(_signed_body([sdjwt.digest(fair)], [fair, *nested]))["body"] == {
        "health": health}  # fmt: skip


def test_intake_refuses_a_category_disclosed_as_an_array_element() -> None:
    element = sdjwt.disclose(None, PLAIN["body"]["identity"])
    with pytest.raises(sdjwt.Refused, match=r"a property's disclosure is \[salt, name, value\]"):
        _intake(_signed_body([sdjwt.digest(element)], [element]))


def test_a_category_with_its_array_elements_concealed_is_forwarded_whole() -> None:
    """Inside a category any member or element may be concealed, one level down."""
    family = PLAIN["body"]["family"]
    elements = [sdjwt.disclose(None, member) for member in family["members"]]
    value = {"members": [{"...": sdjwt.digest(e)} for e in elements]}
    category = sdjwt.disclose("family", value)
    identity = _disclosure_of("identity")
    sent = _signed_body([sdjwt.digest(category), sdjwt.digest(identity)],
                        [category, identity, *elements])  # fmt: skip
    assert _intake(sent)["body"] == {"family": family, "identity": PLAIN["body"]["identity"]}
    cut = sdprofile.stored(sent.encode()).select(["family"])
    assert sdprofile.verify_delivered(_delivery(cut), {KID: KEY}).body == {"family": family}


def test_a_category_nested_two_deep_is_forwarded_whole() -> None:
    """Intake accepts a member of health whose array elements are concealed in turn (RFC
    9901 nests at any depth; the profile does not forbid it). The gateway must then forward
    every disclosure inside the category, else the municipality finds a hole and refuses
    every delivery of a message intake accepted. (Fails: ``stored`` collects only the
    disclosures the category's own value references, one level.)"""
    health = PLAIN["body"]["health"]
    elements = [sdjwt.disclose(None, v) for v in health["adaptations_needed"]]
    members = {**health, "adaptations_needed": [{"...": sdjwt.digest(e)} for e in elements]}
    nested = [sdjwt.disclose(name, value) for name, value in members.items()]
    category = sdjwt.disclose("health", {"_sd": sorted(map(sdjwt.digest, nested))})
    sent = _signed_body([sdjwt.digest(category)], [category, *nested, *elements])
    assert _intake(sent)["body"] == {"health": health}
    kept = sdprofile.stored(sent.encode())
    assert kept.payload["body"]["health"] == health
    cut = kept.select(["health"])
    assert sdprofile.verify_delivered(_delivery(cut), {KID: KEY}).body == {"health": health}


# -- the municipality refuses what the gateway should not have forwarded -------------


@pytest.mark.parametrize("member", sdprofile.SIGNED)
def test_a_delivery_whose_members_coa_did_not_sign_is_refused(member: str) -> None:
    other = {"message_id": "00000000-0000-4000-8000-000000000000", "type": "progress-report",
             "version": 1, "sender": demo.LEIDEN, "subject": {"v_number": "0000000001"},
             "issued_at": "2026-11-23T10:00:08Z"}[member]  # fmt: skip
    cut = sdprofile.stored(ISSUED.encode()).select(["identity", "placement"])
    with pytest.raises(MalformedMessage, match=f"the delivery's {member} is not what COA"):
        sdprofile.verify_delivered({**_delivery(cut), member: other}, {KID: KEY})


def test_a_category_delivered_that_the_delivery_says_was_withheld_is_refused() -> None:
    cut = sdprofile.stored(ISSUED.encode()).select(["identity", "placement"])
    with pytest.raises(MalformedMessage, match="delivered that the delivery says was withheld"):
        sdprofile.verify_delivered(_delivery(cut, ["family", "placement"]), {KID: KEY})


def test_a_key_not_pinned_or_a_wrong_key_is_refused() -> None:
    cut = sdprofile.stored(ISSUED.encode()).select(["identity"])
    with pytest.raises(InvalidSignature, match="not signed by a COA key this party pinned"):
        sdprofile.verify_delivered(_delivery(cut), {thumbprint(OTHER): OTHER})
    with pytest.raises(InvalidSignature, match="kid does not name this key"):
        sdprofile.verify_delivered(_delivery(cut), {KID: OTHER})
    signed, disclosures = _parts(cut)  # the gateway signing COA's payload under COA's kid
    forged = forge({"alg": "EdDSA", "kid": KID, "typ": sdprofile.SD_TYP}, signed, OTHER)
    with pytest.raises(InvalidSignature):
        sdprofile.verify_delivered(_delivery(_join(forged, disclosures)), {KID: KEY})


def test_a_delivery_without_an_sd_jwt_or_not_ascii_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="a version-2 delivery carries sd_jwt"):
        sdprofile.verify_delivered({**_delivery(""), "sd_jwt": None}, {KID: KEY})
    with pytest.raises(MalformedMessage, match="ASCII"):
        sdprofile.verify_delivered(_delivery(ISSUED + "é"), {KID: KEY})


def test_a_hole_inside_a_delivered_category_is_refused() -> None:
    cut = sdprofile.stored(ISSUED.encode()).select(["health"])
    signed_jwt, disclosures = sdjwt.parse(cut).jwt, _parts(cut)[1]
    holed = _join(signed_jwt, [d for d in disclosures if d != _nested_of_health(disclosures)[0]])
    with pytest.raises(sdjwt.Refused, match="a digest inside a category without its disclosure"):
        sdprofile.verify_delivered(_delivery(holed), {KID: KEY})


def test_the_gateway_forwards_a_changed_copy_and_the_municipality_refuses_it() -> None:
    """``stored`` never fails a pull: a disclosure changed in the gateway's database is found
    by its name and forwarded as it is, for the municipality's verification to refuse."""
    disclosures = _parts(ISSUED)[1]
    changed = _altered(_disclosure_of("placement"))
    tampered = _join(sdjwt.parse(ISSUED).jwt, [changed if d == _disclosure_of("placement")
                                                else d for d in disclosures])  # fmt: skip
    kept = sdprofile.stored(tampered.encode())
    assert kept.payload["body"]["placement"]["altered"] is True
    cut = kept.select(["identity", "placement"])
    assert changed in _parts(cut)[1]
    with pytest.raises(sdjwt.Refused, match="referenced by no digest"):
        sdprofile.verify_delivered(_delivery(cut), {KID: KEY})


def _changed_copy(shape: str) -> str:
    jwt, disclosures = sdjwt.parse(ISSUED).jwt, _parts(ISSUED)[1]
    extra = {"garbage": "not+base64", "not-an-array": sdjwt.b64url(b'{"a": 1}'),
             "an-element": sdjwt.disclose(None, 1), "non-ascii": "\u00e9", "empty": ""}[shape]
    return "~".join([jwt, extra, *disclosures, ""])  # fmt: skip


@pytest.mark.parametrize("shape", ["garbage", "not-an-array", "an-element", "non-ascii",
                                   "empty"])  # fmt: skip
def test_the_gateways_read_of_a_changed_copy_never_fails(shape: str) -> None:
    """``stored`` is total over a copy changed since intake: what it cannot read is left
    out, so a pull still answers (and the municipality refuses what it is handed). (Fails
    for "non-ascii", UnicodeDecodeError, and "empty", Refused: the pull answers 500 or 400
    ``malformed`` to the municipality for every delivery on the page.)"""
    kept = sdprofile.stored(_changed_copy(shape).encode())
    assert kept.payload == PLAIN
    cut = kept.select(["identity"])
    assert set(sdprofile.verify_delivered(_delivery(cut), {KID: KEY}).body) == {"identity"}


def test_the_message_type_names_the_form() -> None:
    assert (HANDOVER_PROFILE, 2) in sdprofile.FORMS and sdprofile.is_sd(ISSUED.encode())
    assert not sdprofile.is_sd(envelope.sign(PLAIN, KEY, typ=envelope.MESSAGE_TYP).encode())
