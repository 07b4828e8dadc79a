"""Who is calling: a bearer assertion checked against a registered key.

Every failure to authenticate is the contract's ``401 unauthenticated`` (with
WWW-Authenticate), whatever the cause, so that a caller learns nothing about
which keys exist. A caller who authenticates but whose role may not read
this is ``403 not-authorised``, decided by the use case (``domain.policy``).

Over Digikoppeling (``transport_oin``: the OIN of the TLS client certificate
the front verified) the assertion's issuer must be the party whose
registration names that certificate OIN; otherwise ``403 not-authorised``:
the key is proven, but the connection is another organisation's.
"""

from __future__ import annotations

import re
from datetime import datetime

from gateway.domain.audit.events import Event
from gateway.domain.parties import Party
from gateway.domain.vocabulary import ACCESS
from gateway.domain.wire import bearer, envelope, jwk
from gateway.errors import (
    GatewayError,
    NotAuthorised,
    ServiceUnavailable,
    TransportRefused,
    Unauthenticated,
)
from gateway.service.ports import RegistryPort
from gateway.service.services import Services

_KID = re.compile(r"[A-Za-z0-9_-]{43}")
"""a key id as the gateway makes them: the JWK thumbprint, base64url"""


def identify(
    services: Services,
    authorization: str | None,
    now: datetime,
    trace_id: str,
    transport_oin: str | None = None,
) -> Party:
    """``authenticate``, with a refusal for another organisation's certificate entered in
    the log (``access.refused``, the assertion's verified issuer as actor, the certificate's
    OIN in the reason): someone holds that party's key and connects as someone else, which
    the party and the auditors must be able to find. A flawed assertion names no one and
    is not entered (401)."""
    try:
        return authenticate(authorization, services.store.registry, now, transport_oin)
    except TransportRefused as refused:
        assert transport_oin is not None  # only a certificate can be another's
        _enter_refusal(services, refused.party_oin, transport_oin, now, trace_id)
        raise


def authenticate(
    authorization: str | None,
    registry: RegistryPort,
    now: datetime,
    transport_oin: str | None = None,
) -> Party:
    """The party that signed the bearer assertion; its jti is used up.

    Raises Unauthenticated for any flaw in the assertion, NotAuthorised when
    ``transport_oin`` is given and is not the certificate OIN the party
    registered. What the party may do is each use case's question
    (``domain.policy``), not this one's.
    """
    unverified = bearer.parse(bearer.token_from_header(authorization))
    try:
        signer = registry.find_signer(unverified.header.kid)
        if signer is None or not signer[0].is_valid_at(now):
            kid = unverified.header.kid
            named = f"key {kid}" if _KID.fullmatch(kid) else "the key"
            raise Unauthenticated(
                f"{named} is not registered here, or not valid now (revoked, or outside its "
                "validity): ask the gateway's operator which keys are registered for your OIN"
            )
        record, party = signer
        verified = envelope.verify(
            unverified, jwk.import_registered(record.kid, record.jwk), kid=record.kid
        )
        claims = bearer.check_claims(verified, record.oin, now)
    except (Unauthenticated, ServiceUnavailable):
        raise
    except GatewayError:
        raise Unauthenticated("assertion does not verify") from None
    if transport_oin is not None:
        try:
            party.check_transport(transport_oin, "issuer")
        except NotAuthorised as error:
            raise TransportRefused(party.oin, error.detail) from None
    if not registry.use_jti(claims.iss, claims.jti, bearer.retention(claims), now):
        raise Unauthenticated("assertion already used")
    return party


def by_certificate(
    services: Services, claimed: str, transport_oin: str, now: datetime, trace_id: str
) -> Party:
    """The party ``claimed`` (a header naming the sender, as DUO's ``bron``), proven by
    the TLS client certificate alone: for a party whose protocol signs nothing of ours
    (DUO's APIs rest on the PKIoverheid certificate, Digikoppeling's way).

    Raises Unauthenticated when no party of that OIN is registered, and TransportRefused
    (entered as ``access.refused``, as in ``identify``) when the certificate is another
    organisation's.
    """
    party = services.store.registry.find_party(claimed)
    if party is None:
        raise Unauthenticated("no party of that OIN is registered here")
    try:
        party.check_transport(transport_oin, "sender")
    except NotAuthorised as error:
        _enter_refusal(services, party.oin, transport_oin, now, trace_id)
        raise TransportRefused(party.oin, error.detail) from None
    return party


def _enter_refusal(
    services: Services, party_oin: str, transport_oin: str, now: datetime, trace_id: str
) -> None:
    """``access.refused``: the party as actor, the certificate's OIN in the reason."""
    event = Event(
        event="access.refused",
        actor=party_oin,
        outcome="refused",
        trace_id=trace_id,
        processing_activity=ACCESS,
        reason=f"certificate-oin:{transport_oin}",
    )
    with services.store.write() as tx:
        tx.append([event], now)
