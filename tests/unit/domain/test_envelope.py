"""The profile gate: every header and encoding attack is refused before any library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from gateway.domain.wire import envelope, jwk
from gateway.errors import GatewayError, InvalidSignature, MalformedMessage, UnsupportedHeader
from tests.helpers import b64, forge, header_for

TYP = envelope.MESSAGE_TYP
PAYLOAD = {"message_id": "x", "n": 1}
ED = jwk.generate("Ed25519")
EC = jwk.generate("P-256")
KID = jwk.thumbprint(ED)


def _hs256_with_public_key() -> str:
    header = b64(json.dumps({"alg": "HS256", "kid": KID, "typ": TYP}))
    signing_input = f"{header}.{b64(json.dumps(PAYLOAD))}"
    secret = json.dumps(jwk.public_jwk(ED)).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def _valid() -> str:
    return envelope.sign(PAYLOAD, ED, typ=TYP)


def _with_header(extra: dict[str, object]) -> str:
    return forge({**header_for(ED), **extra}, PAYLOAD, ED)


ATTACKS: list[tuple[str, Callable[[], str], type[GatewayError]]] = [
    (
        "alg none, empty signature",
        lambda: (
            f"{b64(json.dumps({'alg': 'none', 'kid': KID, 'typ': TYP}))}."
            f"{b64(json.dumps(PAYLOAD))}."
        ),
        UnsupportedHeader,
    ),
    ("HS256 with the public key as secret", _hs256_with_public_key, UnsupportedHeader),
    ("RS256", lambda: _with_header({"alg": "RS256"}), UnsupportedHeader),
    (
        "duplicate alg member",
        lambda: forge(f'{{"alg":"EdDSA","alg":"none","kid":"{KID}","typ":"{TYP}"}}', PAYLOAD, ED),
        MalformedMessage,
    ),
    ("crit: []", lambda: _with_header({"crit": []}), UnsupportedHeader),
    ("b64: false", lambda: _with_header({"b64": False}), UnsupportedHeader),
    ("zip: DEF", lambda: _with_header({"zip": "DEF"}), UnsupportedHeader),
    ("embedded jwk", lambda: _with_header({"jwk": jwk.public_jwk(ED)}), UnsupportedHeader),
    ("jku", lambda: _with_header({"jku": "https://attacker.example/jwks"}), UnsupportedHeader),
    ("x5u", lambda: _with_header({"x5u": "https://attacker.example/cert"}), UnsupportedHeader),
    ("x5c", lambda: _with_header({"x5c": ["MIIB"]}), UnsupportedHeader),
    ("cty member", lambda: _with_header({"cty": "json"}), UnsupportedHeader),
    ("path-like kid", lambda: _with_header({"kid": "../../etc/passwd"}), UnsupportedHeader),
    ("SQL-like kid", lambda: _with_header({"kid": "' OR '1'='1"}), UnsupportedHeader),
    ("kid not a string", lambda: _with_header({"kid": 1}), UnsupportedHeader),
    ("missing typ", lambda: forge({"alg": "EdDSA", "kid": KID}, PAYLOAD, ED), UnsupportedHeader),
    ("other typ", lambda: _with_header({"typ": "JWT"}), UnsupportedHeader),
    ("padded signature", lambda: _valid() + "==", MalformedMessage),
    (
        "padded payload",
        lambda: ".".join(
            p + ("=" * (-len(p) % 4) or "==") if i == 1 else p
            for i, p in enumerate(_valid().split("."))
        ),
        MalformedMessage,
    ),
    (
        "standard base64 characters",
        lambda: (
            _valid().replace("-", "+").replace("_", "/")
            if ("-" in _valid() or "_" in _valid())
            else _valid()[:-1] + "+"
        ),
        MalformedMessage,
    ),
    ("non-zero trailing bits in signature", lambda: _trailing_bits(_valid()), MalformedMessage),
    (
        "JSON serialization",
        lambda: json.dumps({"payload": b64(json.dumps(PAYLOAD)), "signatures": []}),
        MalformedMessage,
    ),
    (
        "flattened JSON serialization",
        lambda: json.dumps(
            {
                "protected": b64(json.dumps(header_for(ED))),
                "payload": b64(json.dumps(PAYLOAD)),
                "signature": "AA",
            }
        ),
        MalformedMessage,
    ),
    ("four segments", lambda: _valid() + ".AAAA", MalformedMessage),
    ("two segments", lambda: ".".join(_valid().split(".")[:2]), MalformedMessage),
    ("whitespace inside", lambda: _valid().replace(".", " .", 1), MalformedMessage),
    ("payload is an array", lambda: forge(header_for(ED), b"[1,2]", ED), MalformedMessage),
    (
        "payload with duplicate member",
        lambda: forge(header_for(ED), b'{"a":1,"a":2}', ED),
        MalformedMessage,
    ),
    ("payload with NaN", lambda: forge(header_for(ED), b'{"a":NaN}', ED), MalformedMessage),
    ("payload not UTF-8", lambda: forge(header_for(ED), b'{"a":"\xc3\x28"}', ED), MalformedMessage),
    (
        "header not JSON",
        lambda: f"{b64('not json')}.{b64(json.dumps(PAYLOAD))}.AAAA",
        MalformedMessage,
    ),
    ("non-ASCII bytes", lambda: _valid() + "é", MalformedMessage),
]


def _trailing_bits(token: str) -> str:
    """Change the last base64url character so that only unused low bits differ."""
    head, payload, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 64-byte signature → 86 chars, the last char carries 2 data bits and 4 spare bits.
    last = alphabet.index(sig[-1])
    return (
        f"{head}.{payload}.{sig[:-1]}{alphabet[last | 1]}"
        if last % 2 == 0
        else f"{head}.{payload}.{sig[:-1]}{alphabet[last & ~1]}"
    )


@pytest.mark.parametrize(("name", "make", "error"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_by_the_profile_gate(
    name: str, make: Callable[[], str], error: type[GatewayError]
) -> None:
    token = make()
    with pytest.raises(error):
        envelope.verify(envelope.parse(token.encode("utf-8"), typ=TYP), ED)


def test_trailing_bits_variant_decodes_to_the_same_bytes_in_lenient_decoders() -> None:
    # Proves the attack above is real: a lenient decoder would accept both spellings.
    sig = _valid().split(".")[2]
    forged = _trailing_bits(_valid()).split(".")[2]
    pad = "=" * (-len(sig) % 4)
    assert forged != sig
    assert base64.urlsafe_b64decode(forged + pad) == base64.urlsafe_b64decode(sig + pad)


@pytest.mark.parametrize("alg", ["Ed25519", "EdDSA"])
def test_ed25519_under_both_alg_names_verifies(alg: str) -> None:
    token = envelope.sign(PAYLOAD, ED, typ=TYP, alg=alg)
    verified = envelope.verify(
        envelope.parse(token.encode(), typ=TYP), jwk.import_jwk(jwk.public_jwk(ED))
    )
    assert verified.payload == PAYLOAD
    assert verified.header.alg == alg


def test_es256_verifies() -> None:
    token = envelope.sign(PAYLOAD, EC, typ=TYP)
    assert envelope.verify(envelope.parse(token.encode(), typ=TYP), EC).header.alg == "ES256"


def test_alg_that_does_not_fit_the_key_is_refused() -> None:
    token = forge(header_for(ED, alg="ES256"), PAYLOAD, ED)
    with pytest.raises(UnsupportedHeader):
        envelope.verify(envelope.parse(token.encode(), typ=TYP), ED)


def test_tampered_payload_fails_the_signature() -> None:
    head, _, sig = _valid().split(".")
    token = f"{head}.{b64(json.dumps({**PAYLOAD, 'n': 2}))}.{sig}"
    with pytest.raises(InvalidSignature):
        envelope.verify(envelope.parse(token.encode(), typ=TYP), ED)


def test_signature_by_another_key_with_the_same_kid_fails() -> None:
    other = jwk.generate()
    token = forge(header_for(ED), PAYLOAD, other)  # names ED's kid, signed by other
    with pytest.raises(InvalidSignature):
        envelope.verify(envelope.parse(token.encode(), typ=TYP), ED)


def test_kid_must_name_the_key_used_to_verify() -> None:
    token = envelope.sign(PAYLOAD, ED, typ=TYP)
    with pytest.raises(InvalidSignature):
        envelope.verify(envelope.parse(token.encode(), typ=TYP), jwk.generate())
