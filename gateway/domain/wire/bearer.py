"""Bearer assertions: how a party proves who it is on reads and acks.

A compact JWS by a registered key of the caller, typ
``inburgering-assertion+jws``, claims exactly ``iss`` (the caller's OIN),
``aud`` (``inburgering-gateway``), ``iat``, ``exp`` (NumericDate, at most 300 s
apart) and ``jti`` (single use; the store keeps it until it expires). The
checks here are pure; the caller looks up the key and records the jti. Every
failure is the contract's one ``401 unauthenticated``. Must not import Flask
or SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.domain.wire import envelope
from gateway.errors import GatewayError, Unauthenticated

AUDIENCE = "inburgering-gateway"
MAX_LIFETIME = 300
CLOCK_SKEW = 60
CLAIMS = frozenset({"iss", "aud", "iat", "exp", "jti"})
_JTI = re.compile(r"[A-Za-z0-9._~:-]{8,128}")
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_.-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Claims:
    iss: str
    jti: str
    expires_at: datetime


def token_from_header(value: str | None) -> bytes:
    """The assertion in an ``Authorization: Bearer …`` header.

    Raises Unauthenticated when the header is absent or not a bearer token.
    """
    match = _BEARER.fullmatch(value.strip()) if value else None
    if match is None:
        raise Unauthenticated("Authorization: Bearer <assertion> required")
    return match.group(1).encode("ascii")


_OIN = re.compile(r"[0-9]{20}")


def parse(token: bytes) -> envelope.UnverifiedJWS:
    """The profile gate for assertions. Raises Unauthenticated for anything else."""
    try:
        return envelope.parse(token, typ=envelope.ASSERTION_TYP)
    except GatewayError:
        raise Unauthenticated("assertion is not a JWS of the profile") from None


def check_claims(verified: envelope.VerifiedJWS, key_owner: str, now: datetime) -> Claims:
    """Check the claims of a verified assertion at ``now``.

    Raises Unauthenticated when a claim is missing, extra, of the wrong type,
    for another audience or issuer, too long-lived, not yet valid or expired.
    """
    claims = verified.payload
    if set(claims) != CLAIMS:
        raise Unauthenticated("assertion claims must be exactly iss, aud, iat, exp, jti")
    iss, aud, iat, exp, jti = (claims[k] for k in ("iss", "aud", "iat", "exp", "jti"))
    if iss != key_owner:
        named = f"iss {iss}" if isinstance(iss, str) and _OIN.fullmatch(iss) else "iss"
        raise Unauthenticated(
            f"{named} is not the owner of the signing key: sign with the key registered for "
            "your OIN, or give the OIN this key was registered for"
        )
    if aud != AUDIENCE:
        raise Unauthenticated("wrong audience")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (iat, exp)):
        raise Unauthenticated("iat and exp must be integers")
    if not isinstance(jti, str) or not _JTI.fullmatch(jti):
        raise Unauthenticated("jti must be 8..128 URL-safe characters")
    if not 0 < exp - iat <= MAX_LIFETIME:
        raise Unauthenticated(f"exp - iat must be within 1..{MAX_LIFETIME} s")
    moment = now.timestamp()
    if moment < iat - CLOCK_SKEW:
        raise Unauthenticated("assertion issued in the future")
    if moment >= exp:
        raise Unauthenticated("assertion expired")
    return Claims(iss=iss, jti=jti, expires_at=datetime.fromtimestamp(exp, UTC))


def make_claims(iss: str, now: datetime, jti: str, lifetime: int = 120) -> dict[str, object]:
    """Claims for an assertion of ours (connectors, tests)."""
    iat = int(now.timestamp())
    return {"iss": iss, "aud": AUDIENCE, "iat": iat, "exp": iat + lifetime, "jti": jti}


def retention(claims: Claims) -> datetime:
    """Until when the jti must be remembered (its expiry, plus the skew)."""
    return claims.expires_at + timedelta(seconds=CLOCK_SKEW)
