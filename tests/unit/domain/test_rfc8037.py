"""RFC 8037 Appendix A: the Ed25519 key, its thumbprint, and the signature."""

from __future__ import annotations

from gateway.domain.wire import envelope, jwk
from tests.helpers import raw_sign

PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
SIGNATURE = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"


def test_thumbprint_matches_rfc8037_a3() -> None:
    assert jwk.thumbprint(jwk.import_jwk(PRIVATE, private=True)) == THUMBPRINT


def test_signature_matches_rfc8037_a4() -> None:
    key = jwk.import_jwk(PRIVATE, private=True)
    assert envelope.b64url_encode(raw_sign(key, SIGNING_INPUT)) == SIGNATURE


def test_rfc8037_a5_signature_verifies() -> None:
    public = jwk.import_jwk({k: v for k, v in PRIVATE.items() if k != "d"})
    signature = envelope.b64url_decode(SIGNATURE)
    assert envelope.verify_signature("EdDSA", SIGNING_INPUT, signature, public)
    assert envelope.verify_signature("Ed25519", SIGNING_INPUT, signature, public)
    assert not envelope.verify_signature("EdDSA", SIGNING_INPUT + b"x", signature, public)
