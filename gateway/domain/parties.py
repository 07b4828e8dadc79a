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
from gateway.errors import BadRequest, KeyNotValid

_OIN = re.compile(r"[0-9]{20}")
_MUNICIPALITY_CODE = re.compile(r"GM[0-9]{4}")


@dataclass(frozen=True, slots=True)
class Party:
    oin: str
    role: str
    name: str
    municipality_code: str | None = None


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


def new_party(oin: str, role: str, name: str, municipality_code: str | None = None) -> Party:
    """Check and build a party.

    Raises BadRequest when the OIN is not 20 digits, the role unknown, the name
    empty, or a municipality lacks its GM code (or another role carries one).
    """
    if not _OIN.fullmatch(oin):
        raise BadRequest("OIN must be 20 digits")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200:
        raise BadRequest("name must be 1..200 characters")
    if role == MUNICIPALITY:
        if municipality_code is None or not _MUNICIPALITY_CODE.fullmatch(municipality_code):
            raise BadRequest("a municipality needs its CBS code, GM followed by 4 digits")
    elif municipality_code is not None:
        raise BadRequest("only a municipality carries a municipality code")
    return Party(oin=oin, role=role, name=name.strip(), municipality_code=municipality_code)
