"""JWS compact serialization under the contract's strict profile.

``parse`` is the profile gate: it runs before any JOSE library sees the bytes,
because the libraries accept what the contract refuses (duplicate header
members, ``crit: []``, ``b64: false``, padded segments, JSON serialization).
Only ``verify`` turns an ``UnverifiedJWS`` into a ``VerifiedJWS``, so code that
acts on content can demand the verified type and mypy keeps unverified data
away from it. ``sign`` makes JWSs of the same profile.

The connectors reuse this module: it must not import Flask, SQLAlchemy or
requests.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from gateway.domain.wire import strictjson
from gateway.domain.wire.jwk import (
    ALGS_FOR_KEY,
    SUPPORTED_ALGS,
    Key,
    default_alg,
    key_type,
    thumbprint,
)
from gateway.errors import InvalidSignature, MalformedMessage, UnsupportedHeader

MESSAGE_TYP = "inburgering-message+jws"
ASSERTION_TYP = "inburgering-assertion+jws"
RECEIPT_TYP = "inburgering-receipt+jws"
DELIVERY_TYP = "inburgering-delivery+jws"
PROFILE_TYP = "inburgering-profile+jws"

HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[A-Za-z0-9_-]{43}")  # a SHA-256 thumbprint, base64url, no padding
_HEADER_MAX_BYTES = 1024


def _quiet(name: str) -> Any:
    # RFC 9864 deprecates the name "EdDSA", and joserfc warns on every use; the
    # contract still accepts it (and the gateway signs with it because every
    # maintained library verifies it), so the warning carries no news here.
    alg = copy.copy(JWSRegistry.algorithms[name])
    alg.security_warning = None
    return alg


class _Registry(JWSRegistry):
    """Only the contract's algs; size limits are ours (the body limit), not joserfc's."""

    # joserfc keeps the registry on the class; a subclass of our own keeps it apart.
    algorithms = {name: _quiet(name) for name in SUPPORTED_ALGS}  # noqa: RUF012
    max_payload_length = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Header:
    alg: str
    kid: str
    typ: str


@dataclass(frozen=True, slots=True)
class UnverifiedJWS:
    """Passed the profile gate; the signature is not checked yet."""

    raw: bytes
    header: Header
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """Signature checked against ``key``: the only form content code accepts."""

    raw: bytes
    header: Header
    payload: dict[str, Any]
    key: Key


def b64url_decode(segment: str) -> bytes:
    """Decode one canonical base64url segment.

    Raises MalformedMessage on padding, characters outside the URL-safe
    alphabet, an impossible length, or non-zero trailing bits (which would
    let two spellings carry one value).
    """
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedMessage("segment is not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedMessage("segment is not canonical base64url") from None
    if b64url_encode(data) != segment:
        raise MalformedMessage("segment is not canonical base64url")
    return data


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse(raw: bytes, *, typ: str) -> UnverifiedJWS:
    """Apply the profile gate to a compact JWS.

    Raises MalformedMessage when the bytes are not a compact JWS of canonical
    base64url segments with strict JSON in header and payload, and
    UnsupportedHeader when the header is not exactly ``alg``/``kid``/``typ``
    with a supported alg, this ``typ`` and a thumbprint-shaped kid.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedMessage("a compact JWS is ASCII") from None
    parts = text.split(".")
    if len(parts) != 3:
        raise MalformedMessage("not a JWS in compact serialization")
    header_b64, payload_b64, signature_b64 = parts
    if len(header_b64) > _HEADER_MAX_BYTES:
        raise UnsupportedHeader("header too large")
    # The header first: a refused alg (none, HS256) is named as such, whatever follows.
    header = _check_header(strictjson.loads_object(b64url_decode(header_b64), max_depth=2), typ)
    payload = strictjson.loads_object(b64url_decode(payload_b64))
    b64url_decode(signature_b64)
    return UnverifiedJWS(raw=raw, header=header, payload=payload)


def _check_header(header: dict[str, Any], typ: str) -> Header:
    members = set(header)
    if members != HEADER_MEMBERS:
        extra = sorted(members - HEADER_MEMBERS)
        missing = sorted(HEADER_MEMBERS - members)
        detail = "header must hold exactly alg, kid and typ"
        if extra:
            detail += f"; refused members: {', '.join(m[:32] for m in extra[:8])}"
        if missing:
            detail += f"; missing: {', '.join(missing)}"
        raise UnsupportedHeader(detail)
    alg, kid, header_typ = header["alg"], header["kid"], header["typ"]
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGS:
        raise UnsupportedHeader(f"alg must be one of {', '.join(sorted(SUPPORTED_ALGS))}")
    if header_typ != typ:
        raise UnsupportedHeader(f"typ must be {typ}")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise UnsupportedHeader("kid must be the key's RFC 7638 thumbprint")
    return Header(alg=alg, kid=kid, typ=typ)


def verify(unverified: UnverifiedJWS, key: Key, *, kid: str | None = None) -> VerifiedJWS:
    """Check the signature with ``key``; return the verified JWS.

    ``kid`` is the key's thumbprint when the caller knows it already (a key
    from jwk.import_registered); otherwise it is computed.
    Raises UnsupportedHeader when the alg does not fit the key type, and
    InvalidSignature when the signature does not verify.
    """
    if unverified.header.alg not in ALGS_FOR_KEY[key_type(key)]:
        raise UnsupportedHeader("alg does not fit the registered key type")
    if unverified.header.kid != (kid or thumbprint(key)):
        raise InvalidSignature("kid does not name this key")
    # The gate has parsed and checked every segment already, so only the
    # signature primitive of joserfc's alg is needed (its full deserializer
    # would parse it all again, at twice the cost of the signature check).
    signing_input, _, signature = unverified.raw.rpartition(b".")
    signature_bytes = b64url_decode(signature.decode("ascii"))
    if not verify_signature(unverified.header.alg, signing_input, signature_bytes, key):
        raise InvalidSignature()
    return VerifiedJWS(
        raw=unverified.raw, header=unverified.header, payload=unverified.payload, key=key
    )


def verify_signature(alg: str, signing_input: bytes, signature: bytes, key: Key) -> bool:
    """The bare signature check of joserfc's alg (ES256 takes r‖s, as JWS does)."""
    try:
        return bool(_Registry.algorithms[alg].verify(signing_input, signature, key))
    except (JoseError, ValueError, KeyError):
        return False


class Signer:
    """Signs JWSs of the profile with one key; header parts computed once."""

    def __init__(self, key: Key, alg: str | None = None) -> None:
        self.alg = alg or default_alg(key)
        if self.alg not in ALGS_FOR_KEY[key_type(key)]:
            raise UnsupportedHeader("alg does not fit the key type")
        self.key = key
        self.kid = thumbprint(key)
        self._headers: dict[str, str] = {}

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        """The segments are ours (the profile fixes them); joserfc's alg signs."""
        header = self._headers.get(typ)
        if header is None:
            text = json.dumps({"alg": self.alg, "kid": self.kid, "typ": typ}, separators=(",", ":"))
            header = self._headers[typ] = b64url_encode(text.encode())
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        signing_input = f"{header}.{b64url_encode(body.encode())}"
        signature = _Registry.algorithms[self.alg].sign(signing_input.encode("ascii"), self.key)
        return f"{signing_input}.{b64url_encode(signature)}"


def sign(payload: dict[str, Any], key: Key, *, typ: str, alg: str | None = None) -> str:
    """Sign ``payload`` as a compact JWS of the profile (header alg, kid, typ)."""
    return Signer(key, alg).sign(payload, typ)
