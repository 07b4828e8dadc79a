"""The witness protocol (C2SP tlog-witness) and a witness's own key (C2SP tlog-cosignature).

A witness keeps, per log origin, the newest checkpoint it cosigned, and
cosigns a new one only when it is consistent with that: the log sends
``add-checkpoint`` with the size it believes the witness holds (``old``),
a consistency proof from there, and the signed checkpoint. ``judge`` is
that decision, pure, so the witness's server and the tests share it; the
request's body is read and written here too, for both sides. Must not
import Flask or SQL.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.domain.audit import merkle
from gateway.domain.audit.notes import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    Body,
    Note,
    Verifier,
    cosigned_message,
    parse_body,
    parse_note,
    signature_line,
    verified,
)
from gateway.errors import CheckpointError, GatewayError, ProofError

MAX_PROOF_LINES = 63
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
"""RFC 6962's root of the empty tree: SHA-256 of nothing"""
SIZE_TYPE = "text/x.tlog.size"
"""the Content-Type of a 409's body: the witness's size"""
_PRIVATE = "PRIVATE+KEY+"


class Refused(GatewayError):
    """What a witness answers instead of a cosignature (C2SP tlog-witness's statuses)."""

    code = "witness-refused"

    def __init__(self, answer: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.answer = answer
        """the HTTP status the witness answers with (400, 403, 404, 409, 422)"""
        self.size = size
        """on a 409: the size of the newest checkpoint the witness cosigned"""


@dataclass(frozen=True)
class Request:
    """An ``add-checkpoint`` request: the old size, the proof, the checkpoint note."""

    old: int
    proof: tuple[bytes, ...]
    checkpoint: str


@dataclass(frozen=True)
class Latest:
    """What a witness keeps per origin: the newest checkpoint it cosigned."""

    size: int
    root: bytes


def format_request(request: Request) -> bytes:
    lines = [f"old {request.old}", *(base64.b64encode(h).decode() for h in request.proof)]
    return ("\n".join(lines) + "\n\n" + request.checkpoint).encode()


def parse_request(body: bytes) -> Request:
    """Read an ``add-checkpoint`` body. Raises Refused(400) when it breaks the format."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    head, sep, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    found = re.fullmatch(r"old (0|[1-9][0-9]{0,18})", lines[0])
    if not sep or found is None:
        raise Refused(400, "the body starts with an old size line, then proof lines, a blank line")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refused(400, f"more than {MAX_PROOF_LINES} proof lines")
    proof = []
    for line in lines[1:]:
        try:
            digest = base64.b64decode(line, validate=True)
        except ValueError:
            raise Refused(400, "a proof line is not base64") from None
        if len(digest) != 32:
            raise Refused(400, "a proof line is not a 32-byte hash")
        proof.append(digest)
    return Request(int(found.group(1)), tuple(proof), checkpoint)


def judge(request: Request, logs: dict[str, list[Verifier]], latest: Latest | None) -> Body:
    """The checkpoint, when the witness may cosign it now; else Refused with the status C2SP
    tlog-witness names. ``logs``: origin → the log's trusted keys; ``latest``: what the
    witness cosigned last for this origin (None: never)."""
    try:
        note = parse_note(request.checkpoint)
        body = parse_body(note.text)
    except CheckpointError as error:
        raise Refused(400, f"the checkpoint is malformed: {error}") from None
    keys = logs.get(body.origin)
    if keys is None:
        raise Refused(404, "unknown log origin")
    try:
        if not any(name == body.origin for name in verified(note, keys)):
            raise Refused(403, "no signature by the log's key")
    except CheckpointError:
        raise Refused(403, "a signature by the log's key does not verify") from None
    if request.old > body.size:
        raise Refused(400, "the old size is larger than the checkpoint's")
    held = latest.size if latest is not None else 0
    if request.old != held:
        raise Refused(409, "the old size is not the size of the newest cosigned checkpoint", held)
    if body.size == 0 and body.root != EMPTY_ROOT:
        raise Refused(422, "a checkpoint of size zero has the empty tree's root")
    _check_consistency(request, body, latest)
    return body


def _check_consistency(request: Request, body: Body, latest: Latest | None) -> None:
    if request.old == 0 or latest is None:
        if request.proof:
            raise Refused(422, "a proof from size zero must be empty")
        return
    if request.old == body.size:
        if request.proof or latest.root != body.root:
            raise Refused(422, "the same size with another root: a fork")
        return
    try:
        merkle.verify_consistency(request.old, body.size, latest.root, body.root,
                                  list(request.proof))  # fmt: skip
    except ProofError:
        raise Refused(422, "the consistency proof does not verify") from None


@dataclass(frozen=True)
class CosigningKey:
    """A witness's private key: Ed25519 (``cosignature/v1``) or ML-DSA-44 (``subtree/v1``)."""

    name: str
    kind: int
    private: Ed25519PrivateKey | MLDSA44PrivateKey

    @classmethod
    def generate(cls, name: str, kind: int = MLDSA44_COSIGNATURE) -> CosigningKey:
        if kind == ED25519_COSIGNATURE:
            return cls(name, kind, Ed25519PrivateKey.generate())
        return cls(name, kind, MLDSA44PrivateKey.generate())

    @property
    def verifier(self) -> Verifier:
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.kind, public)

    def cosign(self, text: str, stamp: int) -> str:
        """The signature line of this witness over the checkpoint ``text`` at ``stamp``."""
        message = cosigned_message(self.kind, self.name, stamp, text)
        signature = self.private.sign(message)
        return signature_line(self.name, self.verifier.key_id + struct.pack(">Q", stamp)
                              + signature)  # fmt: skip

    def serialize(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ seed)>`` (as Go's note keys)."""
        seed = self.private.private_bytes_raw()
        encoded = base64.b64encode(bytes([self.kind]) + seed).decode()
        return f"{_PRIVATE}{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> CosigningKey:
        """Raises CheckpointError when the key is malformed or its ID does not match."""
        if not text.startswith(_PRIVATE):
            raise CheckpointError("not a witness's private key")
        name, _, rest = text.strip()[len(_PRIVATE):].partition("+")
        hex_id, _, encoded = rest.partition("+")
        try:
            raw = base64.b64decode(encoded, validate=True)
            kind, seed = raw[0], raw[1:]
            private: Ed25519PrivateKey | MLDSA44PrivateKey = (
                Ed25519PrivateKey.from_private_bytes(seed) if kind == ED25519_COSIGNATURE
                else MLDSA44PrivateKey.from_seed_bytes(seed))  # fmt: skip
        except (ValueError, IndexError):
            raise CheckpointError("witness key malformed") from None
        found = cls(name, kind, private)
        if kind not in (ED25519_COSIGNATURE, MLDSA44_COSIGNATURE) or (
            found.verifier.key_id.hex() != hex_id
        ):
            raise CheckpointError("witness key's ID does not match its name and key")
        return found


def cosignatures(answer: str, checkpoint: Note, witness: Verifier) -> list[tuple[str, bytes]]:
    """The witness's cosignature lines of a 200 answer, each verified over ``checkpoint``'s
    text; lines of other keys are dropped. Raises CheckpointError when none verifies or one
    of the witness's fails."""
    lines = [line for line in answer.split("\n") if line]
    try:
        answered = parse_note(checkpoint.text + "\n" + "\n".join(lines) + "\n")
    except CheckpointError:
        raise CheckpointError("the witness's answer is not signature lines") from None
    if witness.name not in verified(answered, [witness]):
        raise CheckpointError(f"no cosignature by {witness.name} in the answer")
    return [(n, b) for n, b in answered.signatures if (n, b[:4]) == (witness.name,
                                                                   witness.key_id)]  # fmt: skip
