"""The audit log, as an auditor's tool checks it without trusting the gateway: signed
checkpoints (a JWS and a C2SP signed note), Merkle inclusion and consistency proofs
(RFC 9162), and the names of the events the log records.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). The implementation is the gateway's own (``gateway.domain.audit``).
"""

from __future__ import annotations

from gateway.domain.audit.checkpoints import CHECKPOINT_TYP, Checkpoint, vkey
from gateway.domain.audit.checkpoints import verify_jws as verify_checkpoint_jws
from gateway.domain.audit.checkpoints import verify_note as verify_checkpoint_note
from gateway.domain.audit.events import EVENTS
from gateway.domain.audit.merkle import verify_consistency, verify_inclusion

__all__ = [
    "CHECKPOINT_TYP",
    "EVENTS",
    "Checkpoint",
    "verify_checkpoint_jws",
    "verify_checkpoint_note",
    "verify_consistency",
    "verify_inclusion",
    "vkey",
]
