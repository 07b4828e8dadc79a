"""Checkpoints: the gateway's signed statement of the log's size and root.

Two forms of one checkpoint: a JWS (typ ``inburgering-checkpoint+jws``,
payload ``tree_size``, ``root_hash`` hex, ``timestamp``) for JOSE tooling, and
a C2SP tlog-checkpoint signed note (origin line, size, base64 root, an Ed25519
note signature) for transparency-log tooling and witnesses. The note's key
name is the log's origin; its verifier key (C2SP vkey) is published so that
anyone can check notes without the JWKS. Must not import Flask or SQL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.domain.audit import events
from gateway.domain.wire import envelope, jwk
from gateway.errors import CheckpointError

CHECKPOINT_TYP = "inburgering-checkpoint+jws"
_ORIGIN = re.compile(r"^[A-Za-z0-9._/:-]{1,200}$")
_EM_DASH = "\u2014"


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str  # lowercase hex
    timestamp: str  # RFC 3339 UTC

    def payload(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
        }


def new(tree_size: int, root: bytes, now: datetime) -> Checkpoint:
    return Checkpoint(tree_size=tree_size, root_hash=root.hex(), timestamp=events.format_time(now))


def check_origin(origin: str) -> str:
    """Raises CheckpointError when the origin would break the note format."""
    if not _ORIGIN.match(origin):
        raise CheckpointError("log origin must be 1..200 of [A-Za-z0-9._/:-]")
    return origin


def _raw_public(key: jwk.Key) -> bytes:
    public = key.get_op_key("verify")
    if not isinstance(public, Ed25519PublicKey):
        raise CheckpointError("notes are signed with Ed25519")
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(origin: str, key: jwk.Key) -> bytes:
    """C2SP signed-note key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(origin.encode() + b"\n\x01" + _raw_public(key)).digest()[:4]


def vkey(origin: str, key: jwk.Key) -> str:
    """The note verifier key: ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
    encoded = base64.b64encode(b"\x01" + _raw_public(key)).decode()
    return f"{origin}+{key_id(origin, key).hex()}+{encoded}"


def note_body(origin: str, checkpoint: Checkpoint) -> str:
    root = base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode()
    return f"{origin}\n{checkpoint.tree_size}\n{root}\n"


def sign_note(origin: str, checkpoint: Checkpoint, key: jwk.Key, *more: jwk.Key) -> str:
    """The checkpoint as a signed note, signed with the gateway's Ed25519 key, then with
    ``more`` keys: during a key rotation the note carries a line by the old key and one by
    the new (C2SP signed-note allows several), so a witness or verifier that holds either
    note key accepts it."""
    body = note_body(origin, checkpoint)
    lines = []
    for signer in (key, *more):
        private = signer.get_op_key("sign")
        if not isinstance(private, Ed25519PrivateKey):
            raise CheckpointError("notes are signed with Ed25519")
        signature = private.sign(body.encode())
        blob = base64.b64encode(key_id(origin, signer) + signature).decode()
        lines.append(f"{_EM_DASH} {origin} {blob}\n")
    return f"{body}\n{''.join(lines)}"


def verify_note(note: str, origin: str, key: jwk.Key) -> Checkpoint:
    """Check a signed note against the gateway's key; return size and root.

    Raises CheckpointError when the note is malformed, for another origin, or
    carries no valid signature by ``key``. (The timestamp is not in the note.)
    """
    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise CheckpointError("note has no signature block")
    lines = body.split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise CheckpointError("note is not a checkpoint of this log")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise CheckpointError("note size or root malformed") from None
    if size < 0 or len(root) != 32 or lines[1] != str(size):
        raise CheckpointError("note size or root malformed")
    expected_id = key_id(origin, key)
    public = Ed25519PublicKey.from_public_bytes(_raw_public(key))
    for line in signatures.rstrip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _EM_DASH or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] != expected_id:
            continue
        try:
            public.verify(blob[4:], (body + "\n").encode())
        except _CryptoInvalidSignature:
            raise CheckpointError("note signature does not verify") from None
        return Checkpoint(tree_size=size, root_hash=root.hex(), timestamp="")
    raise CheckpointError("note carries no signature by the gateway's key")


def sign_jws(checkpoint: Checkpoint, signer: envelope.Signer) -> str:
    return signer.sign(checkpoint.payload(), CHECKPOINT_TYP)


def verify_jws(token: str, keys: dict[str, jwk.Key]) -> Checkpoint:
    """Check a checkpoint JWS against the gateway's published keys.

    Raises CheckpointError (or the envelope's errors) when it does not verify.
    """
    unverified = envelope.parse(token.encode("ascii"), typ=CHECKPOINT_TYP)
    key = keys.get(unverified.header.kid)
    if key is None:
        raise CheckpointError("checkpoint signed by an unpublished key")
    payload = envelope.verify(unverified, key).payload
    size, root, stamp = payload.get("tree_size"), payload.get("root_hash"), payload.get("timestamp")
    if (
        set(payload) != {"tree_size", "root_hash", "timestamp"}
        or not isinstance(size, int)
        or size < 0
        or not isinstance(root, str)
        or not re.fullmatch(r"[0-9a-f]{64}", root)
        or not isinstance(stamp, str)
    ):
        raise CheckpointError("checkpoint payload malformed")
    return Checkpoint(tree_size=size, root_hash=root, timestamp=stamp)
