"""Our SD-JWT mechanics against an implementation no one here wrote: @sd-jwt/core (npm,
OpenWallet Foundation), run by ``.ci/sdjwt/sdjwt.mjs`` with an Ed25519 key
(``tests/sdjwt_node.py``).

Both ways: what we conceal and sign the reference verifies to the same claims (whole, and
cut to a selection as the gateway will forward it), and what the reference issues our
verifier reveals to the claims the reference itself reads. Where RFC 9901 §7.1 says to reject
(a disclosure no digest references, a digest met twice, a hash algorithm not agreed on, a
disclosure altered after issuance), ours refuses; the reference, at 0.19.0, lets each through
(it ignores what it cannot place): the municipality's verification must be ours.

And the handover profile's version 2 (issue #32): COA's message as ``gateway.client.sdjwt``
issues it, and the cut the gateway forwards of it (``Stored.select``), the reference verifies
to the claims ours reveals (a delivery through the real server: tests/e2e/test_sdjwt_http.py).
"""

from __future__ import annotations

import base64
import json
import random
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey

from gateway.client import sdjwt as client_sdjwt
from gateway.devtools import demo, synthetic
from gateway.domain.wire import sdprofile
from gateway.domain.wire.jwk import thumbprint
from gateway.domain.wire.sdjwt import (
    Refused,
    b64url,
    conceal,
    digest,
    disclose,
    parse,
    reveal,
)
from tests import sdjwt_node

# RFC 9901 §5.1 (the example's disclosures and their digests; §4.2's are in
# tests/unit/domain/test_sdjwt.py): name → (disclosure, SHA-256 digest)
RFC_9901_5_1 = {
    "given_name": ("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
                   "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"),
    "family_name": ("WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd",
                    "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo"),
    "email": ("WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ",
              "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE"),
    "phone_number": ("WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTA"
                     "xMDEiXQ", "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI"),
    "US": ("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0",
           "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo"),
    "DE": ("WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0",
           "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0"),
}  # fmt: skip
CLAIMS = {"iss": "coa", "family": {"children": 2}, "education": ["A2", "B1"], "health": None}


@pytest.fixture(scope="module")
def key() -> OKPKey:
    sdjwt_node.require()
    return OKPKey.generate_key("Ed25519")


def _sign(payload: dict[str, Any], key: OKPKey) -> str:
    with warnings.catch_warnings():  # joserfc warns of "EdDSA" (RFC 9864 names Ed25519)
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "typ": "example+sd-jwt"},
                                     json.dumps(payload).encode(), key, algorithms=["EdDSA"])


def _payload(jwt: str, key: OKPKey) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = jws.deserialize_compact(jwt, key, algorithms=["EdDSA"])
    payload: dict[str, Any] = json.loads(found.payload)
    return payload


def _verify(sdjwt: str, key: OKPKey) -> dict[str, Any]:
    return sdjwt_node.verify(sdjwt, key.as_dict(private=False))


def test_the_rfc_9901_example_disclosures_their_digests_and_what_they_reveal() -> None:
    """The RFC's own example (§5.1), no key needed: each digest, and the claims revealed
    from digests in an object's ``_sd`` and in an array, whole and cut."""
    for name, (disclosure, expected) in RFC_9901_5_1.items():
        assert digest(disclosure) == expected, name
    by_name = {n: d for n, (d, _) in RFC_9901_5_1.items()}
    signed = {"_sd": sorted(RFC_9901_5_1[n][1] for n in ("given_name", "family_name", "email",
                                                            "phone_number")),
              "nationalities": [{"...": RFC_9901_5_1["US"][1]}, {"...": RFC_9901_5_1["DE"][1]}],
              "_sd_alg": "sha-256"}  # fmt: skip
    assert reveal(signed, by_name.values()) == {
        "given_name": "John", "family_name": "Doe", "email": "johndoe@example.com",
        "phone_number": "+1-202-555-0101", "nationalities": ["US", "DE"]}  # fmt: skip
    assert reveal(signed, [by_name["given_name"], by_name["DE"]]) == {
        "given_name": "John", "nationalities": ["DE"]}  # fmt: skip


def test_what_we_issue_the_reference_verifies(key: OKPKey) -> None:
    made = conceal(CLAIMS, ["family", "education", "health"], decoys=4)
    whole = parse(_sign(made.payload, key) + "~" + "~".join(made.disclosures.values()) + "~")
    assert _verify(whole.serialize(), key) == {"ok": True, "payload": CLAIMS}
    cut = whole.select({digest(made.disclosures["education"])})
    assert _verify(cut.serialize(), key) == {"ok": True, "payload": {
        "iss": "coa", "education": ["A2", "B1"]}}  # fmt: skip


def test_what_the_reference_issues_we_reveal_as_it_reads_it(key: OKPKey) -> None:
    frame = {"_sd": ["family", "education", "health"], "_sd_decoy": 3,
             "education": {"_sd": [0]}}  # fmt: skip
    issued = sdjwt_node.run({"op": "issue", "jwk": key.as_dict(private=True), "claims": CLAIMS,
                         "frame": frame})["sdjwt"]  # fmt: skip
    found = parse(issued)
    assert reveal(_payload(found.jwt, key), found.disclosures) == CLAIMS
    assert _verify(issued, key)["payload"] == CLAIMS


def _tampered(disclosure: str) -> str:
    items = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
    items[-1] = "altered by whoever holds it"
    return b64url(json.dumps(items).encode())


@pytest.mark.parametrize("case", ["unreferenced", "digest-twice", "sha-512", "tampered"])
def test_what_rfc_9901_rejects_ours_refuses_and_the_reference_lets_through(
    key: OKPKey, case: str
) -> None:
    made = conceal(CLAIMS, ["family", "health"], decoys=2)
    payload, given = dict(made.payload), list(made.disclosures.values())
    if case == "unreferenced":
        given.append(disclose("work", "none"))
    elif case == "digest-twice":
        payload["_sd"] = [*payload["_sd"], payload["_sd"][0]]
    elif case == "sha-512":
        payload["_sd_alg"] = "sha-512"
    else:
        given = [made.disclosures["family"], _tampered(made.disclosures["health"])]
    sdjwt = _sign(payload, key) + "~" + "~".join(given) + "~"
    with pytest.raises(Refused):
        reveal(_payload(parse(sdjwt).jwt, key), parse(sdjwt).disclosures)
    assert _verify(sdjwt, key)["ok"] is True  # the reference's gap, measured


def _version_2(key: OKPKey) -> tuple[dict[str, Any], str]:
    """A version-2 profile's plain payload, and COA's SD-JWT of it (every disclosure)."""
    rng = random.Random(3250)
    person = synthetic.Newcomer.make(rng)
    plain = {**demo.profile(person, rng, datetime(2026, 11, 23, 10, 0, 7, tzinfo=UTC)),
             "version": 2}  # fmt: skip
    return plain, client_sdjwt.issue(plain, key)


def _clear(plain: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The claims of COA's JWT with ``body`` revealed: the envelope, iss and iat."""
    return {**plain, "body": body, "iss": demo.COA, "iat": 1795428007}


def test_the_reference_verifies_coas_version_2_message(key: OKPKey) -> None:
    plain, issued = _version_2(key)
    assert _verify(issued, key) == {"ok": True, "payload": _clear(plain, plain["body"])}
    ours = sdprofile.verify(sdprofile.parse(issued.encode()), key).payload
    assert ours == plain


@pytest.mark.parametrize("cut", ["legal-basis", "with-health", "nothing"])
def test_the_reference_verifies_the_cut_the_gateway_forwards(key: OKPKey, cut: str) -> None:
    plain, issued = _version_2(key)
    chosen = {"legal-basis": ["identity", "placement"], "nothing": [],
              "with-health": ["identity", "placement", "family", "health"]}[cut]  # fmt: skip
    forwarded = sdprofile.stored(issued.encode()).select(chosen)
    body = {c: plain["body"][c] for c in chosen}
    assert _verify(forwarded, key) == {"ok": True, "payload": _clear(plain, body)}
    delivery = {**plain, "sd_jwt": forwarded, "withheld_categories": []}
    assert client_sdjwt.verify_delivered(delivery, {thumbprint(key): key}).body == body
