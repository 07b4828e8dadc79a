"""Signed notes (C2SP signed-note) and the keys that verify them: the log's and its witnesses'.

A checkpoint travels as a signed note: its text (origin, size, base64 root)
and one signature line per key, the log's first, then each witness's
cosignature (C2SP tlog-cosignature). This module reads notes strictly and
verifies each signature line by the key it names, for three signature types:
the log's Ed25519 note signature (0x01) and the two cosignature types,
timestamped Ed25519 (0x04, ``cosignature/v1``) and timestamped ML-DSA-44
(0x06, the ``subtree/v1`` message). As the spec says: a line whose name and
key ID match no known key is ignored; one that matches and fails rejects the
whole note. Must not import Flask or SQL.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PublicKey

from gateway.errors import CheckpointError

NOTE, ED25519_COSIGNATURE, MLDSA44_COSIGNATURE = 0x01, 0x04, 0x06
"""signature types (C2SP signed-note): the log's note signature, the two cosignatures"""
KEY_BYTES = {NOTE: 32, ED25519_COSIGNATURE: 32, MLDSA44_COSIGNATURE: 1312}
SIGNATURE_BYTES = {NOTE: 64, ED25519_COSIGNATURE: 8 + 64, MLDSA44_COSIGNATURE: 8 + 2420}
"""the bytes after the key ID (a cosignature's begin with its 8-byte timestamp)"""
MAX_SIGNATURES = 32
"""more than the 16 the spec requires a verifier to accept"""
MAX_NOTE_BYTES = 1 << 17
EM_DASH = "\u2014"
_NAME = re.compile(r"^[^\s+\u2014]{1,255}$")
_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_SUBTREE_LABEL = b"subtree/v1\n\x00"
_MAX_TIMESTAMP = (1 << 63) - 1


@dataclass(frozen=True)
class Note:
    """A signed note as read: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[tuple[str, bytes], ...]
    """(key name, key ID ‖ signature), in the note's order"""


@dataclass(frozen=True)
class Body:
    """A checkpoint's text (C2SP tlog-checkpoint): origin, size, root, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verifier:
    """A key that verifies note signature lines: a log's (0x01) or a witness's (0x04, 0x06)."""

    name: str
    kind: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        """SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]."""
        return key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(type ‖ public key)>``."""
        encoded = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, text: str, signature: bytes) -> int | None:
        """Check ``signature`` (after the key ID) over the note ``text``: the cosignature's
        timestamp, or None for a log's note signature. Raises CheckpointError when it fails."""
        if len(signature) != SIGNATURE_BYTES[self.kind]:
            raise CheckpointError(f"signature by {self.name} has the wrong length")
        try:
            if self.kind == NOTE:
                Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text.encode())
                return None
            (stamp,) = struct.unpack(">Q", signature[:8])
            if stamp == 0 or stamp > _MAX_TIMESTAMP:
                raise CheckpointError(f"cosignature by {self.name} has no valid timestamp")
            message = cosigned_message(self.kind, self.name, stamp, text)
            if self.kind == ED25519_COSIGNATURE:
                Ed25519PublicKey.from_public_bytes(self.public).verify(signature[8:], message)
            else:
                MLDSA44PublicKey.from_public_bytes(self.public).verify(signature[8:], message)
            return int(stamp)
        except (InvalidSignature, ValueError):
            raise CheckpointError(f"signature by {self.name} does not verify") from None


def cosigned_at(blob: bytes) -> datetime:
    """A cosignature's time: the 8 big-endian bytes after its key ID (C2SP tlog-cosignature)."""
    return datetime.fromtimestamp(int.from_bytes(blob[4:12], "big"), UTC)


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def parse_vkey(vkey: str, kinds: tuple[int, ...] = tuple(KEY_BYTES)) -> Verifier:
    """A verifier key, its key ID checked against its name and key; only of ``kinds``.
    Raises CheckpointError."""
    name, _, rest = vkey.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
        given = bytes.fromhex(hex_id)
    except ValueError:
        raise CheckpointError("verifier key malformed: name+keyid+base64 key") from None
    if not _NAME.match(name) or len(hex_id) != 8 or not raw:
        raise CheckpointError("verifier key malformed: name+keyid+base64 key")
    kind, public = raw[0], raw[1:]
    if kind not in kinds or len(public) != KEY_BYTES[kind]:
        raise CheckpointError(f"verifier key of type 0x{kind:02x} is not one taken here")
    found = Verifier(name, kind, public)
    if found.key_id != given:
        raise CheckpointError("verifier key's ID does not match its name and key")
    return found


def cosigned_message(kind: int, cosigner: str, stamp: int, text: str) -> bytes:
    """What a cosigner signs (C2SP tlog-cosignature): for Ed25519 the ``cosignature/v1``
    header, the time line and the whole note text; for ML-DSA-44 the ``subtree/v1``
    structure over the checkpoint's origin, size and root (start 0)."""
    if kind == ED25519_COSIGNATURE:
        return f"cosignature/v1\ntime {stamp}\n".encode() + text.encode()
    body = parse_body(text)
    name, origin = cosigner.encode(), body.origin.encode()
    return b"".join([
        _SUBTREE_LABEL, bytes([len(name)]), name, struct.pack(">Q", stamp),
        bytes([len(origin)]), origin, struct.pack(">QQ", 0, body.size), body.root,
    ])  # fmt: skip


def parse_note(note: str | bytes) -> Note:
    """A signed note, read strictly (C2SP signed-note). Raises CheckpointError."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise CheckpointError("note too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("note is not UTF-8") from None
    if len(note) > MAX_NOTE_BYTES or any(c < " " and c != "\n" for c in note):
        raise CheckpointError("note too large or holds control characters")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise CheckpointError("note has no signature block")
    text, lines = note[: cut + 1], note[cut + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _NAME.match(parts[1]):
            raise CheckpointError("note signature line malformed")
        if not _B64.match(parts[2]):
            raise CheckpointError("note signature is not base64")
        blob = base64.b64decode(parts[2])
        if len(blob) < 5:
            raise CheckpointError("note signature too short")
        signatures.append((parts[1], blob))
    return Note(text, tuple(signatures))


def parse_body(text: str) -> Body:
    """A checkpoint's text: origin, size (decimal, no leading zeroes), base64 root of 32
    bytes, extension lines. Raises CheckpointError."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise CheckpointError("checkpoint text malformed")
    origin, size, root = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size) or not _B64.match(root):
        raise CheckpointError("checkpoint size or root malformed")
    digest = base64.b64decode(root)
    if len(digest) != 32 or base64.b64encode(digest).decode() != root:
        raise CheckpointError("checkpoint root malformed")
    return Body(origin, int(size), digest, tuple(lines[3:-1]))


def format_body(body: Body) -> str:
    lines = [body.origin, str(body.size), base64.b64encode(body.root).decode(), *body.extensions]
    return "\n".join(lines) + "\n"


def signature_line(name: str, blob: bytes) -> str:
    return f"{EM_DASH} {name} {base64.b64encode(blob).decode()}\n"


def format_note(note: Note) -> str:
    return note.text + "\n" + "".join(signature_line(n, b) for n, b in note.signatures)


def verified(note: Note, known: list[Verifier]) -> dict[str, int | None]:
    """The known keys whose signature lines verify: name → the cosignature's timestamp
    (None for a log's note signature). Lines of unknown keys are ignored; one of a known key
    that fails raises CheckpointError, for the whole note."""
    by_id = {(v.name, v.key_id): v for v in known}
    found: dict[str, int | None] = {}
    for name, blob in note.signatures:
        verifier = by_id.get((name, blob[:4]))
        if verifier is not None:
            found[name] = verifier.verify(note.text, blob[4:])
    return found
