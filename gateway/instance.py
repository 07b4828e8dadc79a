"""The instance folder: the gateway's own secrets, made on first start.

Three secrets, each a file in the instance folder (mode 0600, created with
O_EXCL so two starting processes never make two different ones) or, for
deployments with many instances, an environment variable that every instance
shares:

- the signing key (private Ed25519 JWK): ``GATEWAY_SIGNING_KEY``
- the pseudonym key (HMAC of V-nummers in the log): ``GATEWAY_PSEUDONYM_KEY``
- the master key (wraps the per-newcomer data keys): ``GATEWAY_MASTER_KEY``

Keys given by environment are base64 (32 bytes) or, for the signing key, the
JWK JSON. Two of them rotate (``gateway.continuity.rotation``): the signing
key's value may be a key set (``gateway.domain.keyring``), the master key's
several keys, separated by white space or commas (the first wraps, all
unwrap). Nothing here is ever written into the repository.

Only ``gateway serve`` (and the demo, in a folder of its own) makes a new
instance. The operator's other commands need one that exists (``require``):
a command run in the wrong folder, or without GATEWAY_INSTANCE, would
otherwise make a fresh instance with new keys where it stands, and register
parties in a gateway nobody runs. A new instance's folder is 0700 and its
files 0600, the embedded database included: they hold the keys and the data.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.domain import keyring
from gateway.domain.wire import jwk
from gateway.errors import ConfigurationError

SECRETS = {
    "signing.jwk": "GATEWAY_SIGNING_KEY",
    "pseudonym.key": "GATEWAY_PSEUDONYM_KEY",
    "master.key": "GATEWAY_MASTER_KEY",
}
"""each secret's file in the instance folder, and the variable that may give it instead"""
EMBEDDED_DATABASE = "gateway.db"
"""the instance's own SQLite file, when GATEWAY_DATABASE_URL names no other database"""


@dataclass(frozen=True)
class Secrets:
    signing_keys: keyring.SigningKeys
    pseudonym_key: bytes
    master_keys: tuple[bytes, ...]
    """the first wraps new data keys; every one unwraps (during a rotation, two)"""

    @property
    def signing_key(self) -> jwk.Key:
        """The key that signs receipts, tokens and checkpoints now."""
        return self.signing_keys.active

    @property
    def master_key(self) -> bytes:
        """The master key that wraps new data keys."""
        return self.master_keys[0]


def write_private(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 holding ``data``; False if it already exists.

    Written whole to a file of its own first and then linked into place, so a
    process starting at the same moment finds either no file or all of it,
    never a file still being written (and two never make two different ones).
    """
    tmp = _synced_copy(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def replace_private(path: Path, data: bytes) -> None:
    """Replace the secret at ``path`` by ``data`` (mode 0600): written whole and synced to a
    file of its own first, then renamed over it, so a process starting meanwhile reads the
    old value or the new, never a part (a rotation step, ``gateway secrets``)."""
    tmp = _synced_copy(path, data)
    try:
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            os.unlink(tmp)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


def _synced_copy(path: Path, data: bytes) -> Path:
    """``data`` in a 0600 file of this process's own beside ``path``, on the disk."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _secret(
    folder: Path, env: Mapping[str, str], name: str, variable: str, make: Callable[[], bytes]
) -> bytes:
    if env.get(variable):
        return env[variable].encode("ascii")
    path = folder / name
    write_private(path, make())
    return path.read_bytes()


def master_keys(text: bytes | str) -> tuple[bytes, ...]:
    """The master keys of GATEWAY_MASTER_KEY's or master.key's value: one or more, base64,
    separated by white space or commas. Raises ConfigurationError."""
    raw = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    words = [word for word in re.split(r"[\s,]+", raw) if word]
    if not words:
        raise ConfigurationError("master key is empty")
    return tuple(_key_bytes(word.encode("ascii", "replace"), "master key") for word in words)


def _key_bytes(text: bytes, what: str) -> bytes:
    try:
        value = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{what} is not base64") from None
    if len(value) != 32:
        raise ConfigurationError(f"{what} must be 32 bytes")
    return value


def new_shared_secrets() -> dict[str, str]:
    """Fresh values of the three secret variables, for a deployment of several instances.

    What every instance of one deployment must be given alike (docs/deploy.md).
    """
    return {
        "GATEWAY_SIGNING_KEY": json.dumps(jwk.private_jwk(jwk.generate("Ed25519"))),
        "GATEWAY_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GATEWAY_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def load_secrets(folder: Path, env: Mapping[str, str] | None = None) -> Secrets:
    """Load the instance's secrets, making those that are missing.

    Raises ConfigurationError when a given secret is malformed.
    """
    env = os.environ if env is None else env
    make_folder(folder, embedded_database=not env.get("GATEWAY_DATABASE_URL"))

    def random_key() -> bytes:
        return base64.b64encode(secrets.token_bytes(32)) + b"\n"

    def new_signing_key() -> bytes:
        return json.dumps(jwk.private_jwk(jwk.generate("Ed25519"))).encode() + b"\n"

    signing_text = _secret(folder, env, "signing.jwk", "GATEWAY_SIGNING_KEY", new_signing_key)
    return Secrets(
        signing_keys=keyring.parse(signing_text),
        pseudonym_key=_key_bytes(
            _secret(folder, env, "pseudonym.key", "GATEWAY_PSEUDONYM_KEY", random_key),
            "pseudonym key",
        ),
        master_keys=master_keys(
            _secret(folder, env, "master.key", "GATEWAY_MASTER_KEY", random_key)
        ),
    )


def make_folder(folder: Path, *, embedded_database: bool) -> bool:
    """Make the instance folder (0700) if it is not there; True when it was made now.

    With ``embedded_database`` the SQLite file is made too, empty and 0600,
    before SQLite opens it: SQLite gives its journal files the database's
    mode, and would otherwise make them all readable by everyone (umask 022).
    """
    if folder.is_dir():
        return False
    if not folder.parent.exists():
        folder.parent.mkdir(parents=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        return False  # made by a process starting beside this one
    os.chmod(folder, 0o700)  # whatever the umask
    if embedded_database:
        database = folder / EMBEDDED_DATABASE
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return True


def missing(folder: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets' files an instance needs and ``folder`` lacks (none given by environment)."""
    env = os.environ if env is None else env
    return [name for name, variable in SECRETS.items()
            if not env.get(variable) and not (folder / name).is_file()]  # fmt: skip


def require(folder: Path, env: Mapping[str, str] | None = None, *, wait: float = 5.0) -> None:
    """Raises ConfigurationError, saying where it looked and what to do, without an instance.

    Waits up to ``wait`` seconds first while the folder is being made: a
    ``gateway serve &`` started just before this command (as the operator guide's
    walkthrough does) makes it within a moment.
    """
    env = os.environ if env is None else env
    deadline = time.monotonic() + wait
    lacking = missing(folder, env)
    while lacking and time.monotonic() < deadline:
        time.sleep(0.1)
        lacking = missing(folder, env)
    if not lacking:
        return
    where = (
        f"GATEWAY_INSTANCE={env['GATEWAY_INSTANCE']}" if env.get("GATEWAY_INSTANCE")
        else "GATEWAY_INSTANCE is not set, so ./instance in the current folder"
    )  # fmt: skip
    if len(lacking) < len(SECRETS):
        raise ConfigurationError(
            f"instance {folder} is incomplete ({where}): {', '.join(lacking)} missing; restore "
            "it from your backup (a new one would make what the gateway holds unreadable)"
        )
    raise ConfigurationError(
        f"no gateway instance at {folder} ({where}): it holds no keys. Set GATEWAY_INSTANCE to "
        "your instance's folder (or give GATEWAY_SIGNING_KEY, GATEWAY_PSEUDONYM_KEY and "
        "GATEWAY_MASTER_KEY); `gateway serve` makes a new instance on its first start"
    )
