"""Witnesses of the audit log: signed notes, cosignatures and the witness protocol
(C2SP signed-note, tlog-cosignature, tlog-witness), for a witness's server and for the
tools that require a quorum of cosignatures.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). The implementation is the gateway's own (``gateway.domain.audit``).
"""

from __future__ import annotations

from gateway.domain.audit.notes import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    NOTE,
    Body,
    Note,
    Verifier,
    format_note,
    parse_body,
    parse_note,
    parse_vkey,
    verified,
)
from gateway.domain.audit.trustpolicy import Policy
from gateway.domain.audit.trustpolicy import parse as parse_policy
from gateway.domain.audit.witnessing import (
    SIZE_TYPE,
    CosigningKey,
    Latest,
    Refused,
    Request,
    cosignatures,
    format_request,
    judge,
    parse_request,
)

__all__ = [
    "ED25519_COSIGNATURE",
    "MLDSA44_COSIGNATURE",
    "NOTE",
    "SIZE_TYPE",
    "Body",
    "CosigningKey",
    "Latest",
    "Note",
    "Policy",
    "Refused",
    "Request",
    "Verifier",
    "cosignatures",
    "format_note",
    "format_request",
    "judge",
    "parse_body",
    "parse_note",
    "parse_policy",
    "parse_request",
    "parse_vkey",
    "verified",
]
