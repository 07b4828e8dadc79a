"""Parties and their keys as plain values, and the checks on them.

A party is an organisation with an OIN and one role. Its keys are judged at
the gateway's receipt time, never at the time a message claims for itself:
a sender cannot back-date its way around a revocation. Must not import Flask
or SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain.vocabulary import MUNICIPALITY, ROLES
from gateway.errors import BadRequest, KeyNotValid, NotAuthorised

_OIN = re.compile(r"[0-9]{20}")
_MUNICIPALITY_CODE = re.compile(r"GM[0-9]{4}")


@dataclass(frozen=True, slots=True)
class Party:
    oin: str
    role: str
    name: str
    municipality_code: str | None = None
    cert_oin: str | None = None
    """the OIN its TLS client certificate carries (subject serialNumber), when that is not
    its own: a supplier's or a shared service's certificate (Digikoppeling transport)"""

    @property
    def expected_cert_oin(self) -> str:
        """The OIN a Digikoppeling client certificate must carry to act for this party."""
        return self.cert_oin or self.oin

    def check_transport(self, cert_oin: str, acting_as: str) -> None:
        """Raises NotAuthorised when ``cert_oin`` (the verified TLS client certificate's)
        is not the one registered for this party. ``acting_as`` names what the party is
        being: "sender" (a message) or "issuer" (a bearer assertion). The problem names the
        OINs: organisations' identifiers, never a person's."""
        if cert_oin == self.expected_cert_oin:
            return
        registered = (
            f" (its registered certificate OIN is {self.cert_oin})" if self.cert_oin else ""
        )
        raise NotAuthorised(
            f"the TLS client certificate's OIN {cert_oin} may not act for {acting_as} "
            f"{self.oin}{registered}"
        )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    kid: str
    oin: str
    jwk: dict[str, Any]
    not_before: datetime
    not_after: datetime | None = None
    revoked_at: datetime | None = None

    def is_valid_at(self, now: datetime) -> bool:
        """Inside [not_before, not_after) and not revoked by ``now``."""
        if now < self.not_before:
            return False
        if self.not_after is not None and now >= self.not_after:
            return False
        return self.revoked_at is None or now < self.revoked_at

    def check_valid_at(self, now: datetime) -> None:
        """Raises KeyNotValid when the key is outside its validity at ``now``."""
        if not self.is_valid_at(now):
            raise KeyNotValid()


def new_party(
    oin: str,
    role: str,
    name: str,
    municipality_code: str | None = None,
    cert_oin: str | None = None,
) -> Party:
    """Check and build a party; ``cert_oin`` only where its certificate's OIN is not its own.

    Raises BadRequest when an OIN is not 20 digits, the role unknown, the name
    empty, or a municipality lacks its GM code (or another role carries one).
    """
    if not _OIN.fullmatch(oin):
        raise BadRequest("OIN must be 20 digits")
    if cert_oin is not None and not _OIN.fullmatch(cert_oin):
        raise BadRequest("the certificate OIN must be 20 digits")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200:
        raise BadRequest("name must be 1..200 characters")
    if role == MUNICIPALITY:
        if municipality_code is None or not _MUNICIPALITY_CODE.fullmatch(municipality_code):
            raise BadRequest("a municipality needs its CBS code, GM followed by 4 digits")
    elif municipality_code is not None:
        raise BadRequest("only a municipality carries a municipality code")
    return Party(
        oin=oin,
        role=role,
        name=name.strip(),
        municipality_code=municipality_code,
        cert_oin=None if cert_oin == oin else cert_oin,
    )
