"""Who is calling: a bearer assertion checked against a registered key.

Every failure to authenticate is the contract's ``401 unauthenticated`` (with
WWW-Authenticate), whatever the cause, so that a caller learns nothing about
which keys exist. A caller who authenticates but whose role may not read
this is ``403 not-authorised``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from gateway.domain.parties import Party
from gateway.domain.wire import bearer, envelope, jwk
from gateway.errors import GatewayError, NotAuthorised, ServiceUnavailable, Unauthenticated
from gateway.service.ports import RegistryPort


def authenticate(
    authorization: str | None,
    registry: RegistryPort,
    now: datetime,
    roles: Collection[str] | None = None,
) -> Party:
    """The party that signed the bearer assertion; its jti is used up.

    Raises Unauthenticated for any flaw in the assertion, NotAuthorised when
    the party's role is not among ``roles``.
    """
    unverified = bearer.parse(bearer.token_from_header(authorization))
    try:
        signer = registry.find_signer(unverified.header.kid)
        if signer is None or not signer[0].is_valid_at(now):
            raise Unauthenticated("unknown key or key not valid")
        record, party = signer
        verified = envelope.verify(
            unverified, jwk.import_registered(record.kid, record.jwk), kid=record.kid
        )
        claims = bearer.check_claims(verified, record.oin, now)
    except (Unauthenticated, ServiceUnavailable):
        raise
    except GatewayError:
        raise Unauthenticated("assertion does not verify") from None
    if not registry.use_jti(claims.iss, claims.jti, bearer.retention(claims), now):
        raise Unauthenticated("assertion already used")
    if roles is not None and party.role not in roles:
        raise NotAuthorised(f"role {party.role} may not read this")
    return party
