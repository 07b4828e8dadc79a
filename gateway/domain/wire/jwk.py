"""Keys as JWKs: the two key types of the contract, their thumbprints, and which
alg fits which key.

Wraps joserfc's key classes so the rest of the gateway (and the connectors)
never meet a key type the contract does not allow. Must not import Flask or SQL.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from gateway.errors import BadRequest

Key = OKPKey | ECKey

ALGS_FOR_KEY: dict[tuple[str, str], frozenset[str]] = {
    ("OKP", "Ed25519"): frozenset({"Ed25519", "EdDSA"}),
    ("EC", "P-256"): frozenset({"ES256"}),
}
SUPPORTED_ALGS = frozenset().union(*ALGS_FOR_KEY.values())
_ALLOWED_MEMBERS = frozenset({"kty", "crv", "x", "y", "d", "kid", "alg", "use", "key_ops"})


def import_jwk(data: Mapping[str, Any], *, private: bool = False) -> Key:
    """Load a JWK of the contract's types; ``private`` says which half is expected.

    Raises BadRequest when the JWK is of another type or curve, carries members
    the contract does not know, is private where a public key is expected (or
    the reverse), or names a ``kid`` that is not its thumbprint.
    """
    if not isinstance(data, Mapping):
        raise BadRequest("a JWK must be a JSON object")
    unknown = set(data) - _ALLOWED_MEMBERS
    if unknown:
        raise BadRequest(f"unsupported JWK members: {', '.join(sorted(unknown))}")
    kty, crv = str(data.get("kty")), str(data.get("crv"))
    if (kty, crv) not in ALGS_FOR_KEY:
        raise BadRequest("key must be OKP/Ed25519 or EC/P-256")
    if ("d" in data) != private:
        raise BadRequest(
            "private JWK expected" if private else "public JWK expected, got a private key"
        )
    if data.get("use", "sig") != "sig":
        raise BadRequest("key use must be sig")
    if "alg" in data and data["alg"] not in ALGS_FOR_KEY[(kty, crv)]:
        raise BadRequest("JWK alg does not fit the key type")
    material = {k: v for k, v in data.items() if k in ("kty", "crv", "x", "y", "d")}
    try:
        key: Key = OKPKey.import_key(material) if kty == "OKP" else ECKey.import_key(material)
    except (JoseError, ValueError, TypeError):
        raise BadRequest("JWK key material is not valid") from None
    if "kid" in data and data["kid"] != key.thumbprint():
        raise BadRequest("JWK kid is not its RFC 7638 thumbprint")
    return key


def generate(kind: str = "Ed25519") -> Key:
    """Make a new private key: ``Ed25519`` (the default) or ``P-256``."""
    if kind == "Ed25519":
        return OKPKey.generate_key("Ed25519")
    if kind == "P-256":
        return ECKey.generate_key("P-256")
    raise BadRequest("key kind must be Ed25519 or P-256")


def thumbprint(key: Key) -> str:
    """RFC 7638 thumbprint: SHA-256, base64url without padding. This is the kid."""
    return str(key.thumbprint())


@functools.lru_cache(maxsize=4096)
def _import_registered(kid: str, text: str) -> Key:
    key = import_jwk(json.loads(text))
    if thumbprint(key) != kid:
        raise BadRequest("registered key material does not match its kid")
    return key


def import_registered(kid: str, data: Mapping[str, Any]) -> Key:
    """Import a registered public key, once per process per kid and material.

    Its thumbprint is checked to be ``kid`` here, once, so that a verifier may
    take ``kid`` for the key's thumbprint without computing it per message.
    Raises BadRequest as import_jwk does, or when the material is not the kid's.
    """
    return _import_registered(kid, json.dumps(data, sort_keys=True))


def public_jwk(key: Key) -> dict[str, Any]:
    """The public half as a JWK with its kid, ready to publish."""
    data = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}
    data["kid"] = thumbprint(key)
    data["use"] = "sig"
    return data


def private_jwk(key: Key) -> dict[str, Any]:
    """The private JWK with its kid, for the owner's file only."""
    data = {
        k: v for k, v in key.as_dict(private=True).items() if k in ("kty", "crv", "x", "y", "d")
    }
    data["kid"] = thumbprint(key)
    return data


def default_alg(key: Key) -> str:
    """The alg a signer of ours uses for this key: EdDSA, which every library verifies."""
    return "EdDSA" if key.key_type == "OKP" else "ES256"


def key_type(key: Key) -> tuple[str, str]:
    """(kty, crv) of a key, the index into ALGS_FOR_KEY."""
    d = key.as_dict(private=False)
    return str(d["kty"]), str(d["crv"])
