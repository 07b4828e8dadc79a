"""The log's side of the witness protocol, built in the tests: an Ed25519 note key, leaves
hashed as RFC 9162 says, signed checkpoints and consistency proofs between them."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.client.witness import Note, Request, format_note, format_request
from gateway.domain.audit import merkle
from gateway.domain.audit.notes import NOTE, Verifier


class Log:
    """A log: its origin, its note key (signature type 0x01) and its entries."""

    def __init__(self, origin: str = "gemeente.example/audit", entries: int = 12,
                 tag: str = "entry", private: Ed25519PrivateKey | None = None) -> None:  # fmt: skip
        self.private = private or Ed25519PrivateKey.generate()
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(origin, NOTE, public)
        self.leaves = [merkle.leaf_hash(f"{tag} {i}".encode()) for i in range(entries)]

    @property
    def origin(self) -> str:
        return self.verifier.name

    def fork(self, at: int) -> Log:
        """The same log (origin and key) telling another history from entry ``at`` on."""
        other = Log(self.origin, len(self.leaves), private=self.private)
        other.leaves = self.leaves[:at] + [merkle.leaf_hash(b"forked " + h) for h in
                                           self.leaves[at:]]  # fmt: skip
        return other

    def text(self, size: int) -> str:
        root = merkle.root_of(self.leaves[:size])
        return f"{self.origin}\n{size}\n{base64.b64encode(root).decode()}\n"

    def checkpoint(self, size: int) -> str:
        """The signed note of the checkpoint at ``size``."""
        text = self.text(size)
        signature = self.private.sign(text.encode())
        return format_note(Note(text, ((self.origin, self.verifier.key_id + signature),)))

    def proof(self, first: int, second: int) -> tuple[bytes, ...]:
        hashes = self.leaves[:second]

        def node(start: int, end: int) -> bytes:
            return merkle.root_of(hashes[start:end])

        if first == 0:
            return ()
        return tuple(merkle.consistency_path(first, second, node))

    def request(self, old: int, size: int) -> Request:
        return Request(old, self.proof(old, size), self.checkpoint(size))

    def body(self, old: int, size: int) -> bytes:
        """The ``add-checkpoint`` body from ``old`` to ``size``."""
        return format_request(self.request(old, size))
