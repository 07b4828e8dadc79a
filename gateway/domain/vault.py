"""Encryption at rest: AES-GCM under a data key per newcomer, wrapped by a master key.

Erasing a newcomer's wrapped data key makes every stored copy of their
messages unreadable at once (crypto-shredding), while the audit log, which
holds only hashes and pseudonyms, still verifies. The message id is the
associated data, so a sealed body cannot be moved to another message row.
Must not import Flask or SQL.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ConfigurationError

NONCE_BYTES = 12
KEY_BYTES = 32


class Vault:
    """Holds the master key; wraps data keys and seals bodies."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ConfigurationError("master key must be 32 bytes")
        self._master = AESGCM(master_key)

    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=8 * KEY_BYTES)

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        """Encrypt a data key under the master key, bound to its subject pseudonym."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, data_key, subject.encode("ascii"))

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        """Raises ConfigurationError when the master key does not open it (wrong key)."""
        try:
            return self._master.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject.encode("ascii")
            )
        except InvalidTag:
            raise ConfigurationError("data key does not open with this master key") from None


def seal(data_key: bytes, plaintext: bytes, message_id: str) -> bytes:
    """AES-GCM encrypt with a fresh nonce; the message id is the associated data."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, message_id.encode("ascii"))


def unseal(data_key: bytes, sealed: bytes, message_id: str) -> bytes:
    """Raises ConfigurationError when the sealed bytes were altered or moved."""
    try:
        return AESGCM(data_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], message_id.encode("ascii")
        )
    except InvalidTag:
        raise ConfigurationError("sealed message does not open: altered or moved") from None
