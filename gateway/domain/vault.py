"""Encryption at rest: AES-GCM under a data key per newcomer, wrapped by a master key.

Erasing a newcomer's wrapped data key makes every stored copy of their
messages unreadable at once (crypto-shredding), while the audit log, which
holds only hashes and pseudonyms, still verifies. The message id is the
associated data, so a sealed body cannot be moved to another message row.

The master key can be rotated without reading a body (issue #33): only the
data keys are wrapped by it, so a new master key means rewrapping each data
key, one small row per newcomer. A vault may hold several master keys: the
first wraps, every one unwraps. A wrapped key names the master key that
wraps it (``0x01 ‖ key id ‖ nonce ‖ ciphertext``), so a reader picks the
right one and a rewrap sees which rows are done; a key wrapped before key
ids (``nonce ‖ ciphertext``, 60 bytes) is opened by trying each master key.
Must not import Flask or SQL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ConfigurationError

NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_BYTES = 8
KEYED = b"\x01"
"""the first byte of a wrapped key that names its master key"""
_UNNAMED_BYTES = NONCE_BYTES + KEY_BYTES + 16  # nonce, data key, GCM tag
_NAMED_BYTES = len(KEYED) + KEY_ID_BYTES + _UNNAMED_BYTES


def master_key_id(master_key: bytes) -> str:
    """A master key's public name (16 hex digits): what wrapped keys, commands and the audit
    log call it. A hash of the key under a label of its own: it tells nothing of the key."""
    return hashlib.sha256(b"inburgering-gateway master key\n" + master_key).hexdigest()[
        : 2 * KEY_ID_BYTES
    ]


class Vault:
    """Holds the master keys (the first wraps, all unwrap); wraps data keys, seals bodies."""

    def __init__(self, master_keys: bytes | Sequence[bytes]) -> None:
        keys = [master_keys] if isinstance(master_keys, bytes) else list(master_keys)
        if not keys or any(len(key) != KEY_BYTES for key in keys):
            raise ConfigurationError("master key must be 32 bytes")
        self.ids = tuple(master_key_id(key) for key in keys)
        """the master keys' ids, the wrapping one first"""
        if len(set(self.ids)) != len(self.ids):
            raise ConfigurationError("a master key is given twice")
        self._by_id = {bytes.fromhex(i): AESGCM(key) for i, key in zip(self.ids, keys, strict=True)}
        self._wrapping = bytes.fromhex(self.ids[0])

    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=8 * KEY_BYTES)

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        """Encrypt a data key under the first master key, bound to its subject pseudonym."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._by_id[self._wrapping].encrypt(nonce, data_key, subject.encode("ascii"))
        return KEYED + self._wrapping + nonce + sealed

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        """The data key, opened by whichever master key wraps it. Raises ConfigurationError
        when none of this vault's opens it (a master key missing, or the wrong one)."""
        named = wrapped_by(wrapped)
        if named is not None:
            master = self._by_id.get(bytes.fromhex(named))
            if master is None:
                raise ConfigurationError(f"data key wrapped by master key {named}, which is "
                                         "not given (GATEWAY_MASTER_KEY)")  # fmt: skip
            return _open(master, wrapped[len(KEYED) + KEY_ID_BYTES :], subject)
        for master in self._by_id.values():  # wrapped before key ids: the one that opens it
            try:
                return _open(master, wrapped, subject)
            except ConfigurationError:
                continue
        raise ConfigurationError("data key does not open with this master key")

    def is_current(self, wrapped: bytes) -> bool:
        """Whether the first master key wraps ``wrapped`` (a rewrap leaves it alone)."""
        return wrapped_by(wrapped) == self.ids[0]

    def rewrap(self, wrapped: bytes, subject: str) -> bytes:
        """The same data key, wrapped by the first master key. Raises as ``unwrap``."""
        return self.wrap(self.unwrap(wrapped, subject), subject)


def wrapped_by(wrapped: bytes) -> str | None:
    """The id of the master key that wraps ``wrapped``; None for a key wrapped before ids."""
    if len(wrapped) == _NAMED_BYTES and wrapped[:1] == KEYED:
        return wrapped[len(KEYED) : len(KEYED) + KEY_ID_BYTES].hex()
    return None


def _open(master: AESGCM, wrapped: bytes, subject: str) -> bytes:
    try:
        return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject.encode("ascii"))
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
