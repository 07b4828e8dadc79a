"""The version-2 handover profile (RFC 9901 SD-JWT) as a party's tool handles it.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``); the implementation is the gateway's own (``gateway.domain.wire.sdprofile``),
so COA issues exactly what the gateway checks, and a municipality verifies exactly as
strictly as intake did.

- ``issue``: COA's version-2 message from a payload of the contract (its plain body): each
  category one disclosure, health's members each their own, decoys to ``BODY_DIGESTS``;
- ``verify_delivered``: a municipality's own check of a delivered version 2 against COA's
  keys it pinned (``Verified``: the body as COA signed it, and by which key);
- ``cut``: a kept version 2 with only some categories' disclosures (what a withdrawal
  leaves); ``kid_of``: which of COA's keys signed it;
- ``is_sd``, ``FORMS``, ``SD_TYP``, ``MEDIA_TYPE``: which messages travel so, and how.
"""

from __future__ import annotations

from typing import Any

from gateway.domain.wire import envelope
from gateway.domain.wire.jwk import Key
from gateway.domain.wire.sdprofile import (
    BODY_DIGESTS,
    FORMS,
    MEDIA_TYPE,
    SD_TYP,
    Verified,
    cut,
    is_sd,
    kid_of,
    verify_delivered,
)
from gateway.domain.wire.sdprofile import issue as _issue

__all__ = [
    "BODY_DIGESTS",
    "FORMS",
    "MEDIA_TYPE",
    "SD_TYP",
    "Verified",
    "cut",
    "is_sd",
    "issue",
    "kid_of",
    "verify_delivered",
]


def issue(payload: dict[str, Any], key: Key) -> str:
    """The compact SD-JWT of a version-2 ``payload``, signed with ``key`` (COA's)."""
    return _issue(payload, envelope.Signer(key))
