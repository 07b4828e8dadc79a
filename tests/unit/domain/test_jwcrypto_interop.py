"""An independent JOSE library (jwcrypto, in tests only) agrees with ours both ways."""

from __future__ import annotations

import json

import pytest
from jwcrypto import jwk as jjwk
from jwcrypto import jws as jjws

from gateway.domain.wire import envelope, jwk

TYP = envelope.MESSAGE_TYP


@pytest.mark.parametrize("kind", ["Ed25519", "P-256"])
def test_message_signed_by_jwcrypto_verifies_with_the_gateway(kind: str) -> None:
    key = (
        jjwk.JWK.generate(kty="OKP", crv="Ed25519")
        if kind == "Ed25519"
        else jjwk.JWK.generate(kty="EC", crv="P-256")
    )
    public = json.loads(key.export_public())
    alg = "EdDSA" if kind == "Ed25519" else "ES256"
    token = jjws.JWS(json.dumps({"hello": "wereld"}).encode())
    token.add_signature(
        key, alg=alg, protected=json.dumps({"alg": alg, "kid": key.thumbprint(), "typ": TYP})
    )
    compact = token.serialize(compact=True)
    ours = jwk.import_jwk(public)
    assert jwk.thumbprint(ours) == key.thumbprint()
    assert envelope.verify(envelope.parse(compact.encode(), typ=TYP), ours).payload == {
        "hello": "wereld"
    }


def test_gateway_signature_verifies_with_jwcrypto() -> None:
    key = jwk.generate()
    token = envelope.sign({"status": "accepted"}, key, typ=envelope.RECEIPT_TYP)
    verifier = jjwk.JWK(**jwk.public_jwk(key))
    checked = jjws.JWS()
    checked.deserialize(token)
    checked.verify(verifier)
    assert json.loads(checked.payload) == {"status": "accepted"}
