"""Rotating the gateway's signing key, and where an instance's secrets are rewritten (issue #33).

A rotation is made of steps, each of which writes a new value of the secret and enters
itself in the audit log (``signing_key.changed``, ``master_key.changed``: the step and
the key's id as the reason, nothing else). The value goes where the instance's secret
comes from: into the instance folder's file (one machine; replaced whole, 0600), or,
when every instance is given it by environment, into a new file the operator puts in
the secret store and rolls out, restarting the instances one at a time. The steps are
ordered so that two instances one step apart never disagree on what verifies
(``gateway.domain.keyring`` for the signing key, ``rewrap`` for the master key).

The pseudonym key has no rotation: every audit entry names its newcomer by
HMAC(pseudonym key, V-nummer) and is a leaf of the signed Merkle tree, so a new key
would either leave the old entries unlinkable to the new ones or rewrite every leaf,
which is a new log (docs/deploy.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from gateway import config, instance
from gateway.bootstrap import build_services, log_origin, storage_of
from gateway.domain import keyring
from gateway.domain.audit import checkpoints, events
from gateway.domain.audit.events import Event
from gateway.domain.vocabulary import ADMINISTRATION
from gateway.domain.wire import jwk
from gateway.errors import ConfigurationError
from gateway.service.services import Services

SIGNING, MASTER = "signing.jwk", "master.key"


@dataclass(frozen=True)
class Secret:
    """One of the instance's secrets as it is given now, and where a new value goes."""

    name: str
    """its file in the instance folder"""
    variable: str
    text: str
    path: Path | None
    """the file that holds it; None when given by environment (every instance alike)"""


def current(settings: config.Settings, name: str) -> Secret:
    """The secret ``name`` (``SIGNING``, ``MASTER``) of the instance as it is given now."""
    variable = instance.SECRETS[name]
    given = os.environ.get(variable)
    if given:
        return Secret(name, variable, given, None)
    path = settings.instance / name
    return Secret(name, variable, path.read_text(encoding="ascii"), path)


@contextmanager
def operator_services(settings: config.Settings) -> Iterator[Services]:
    """The services of the existing instance (never a new one: its keys would be new), its
    engine closed after. Raises ConfigurationError saying where it looked."""
    instance.require(settings.instance)
    services = build_services(settings)
    try:
        yield services
    finally:
        storage_of(services).engine.dispose()


def write(secret: Secret, value: str, out: Path | None) -> Path:
    """Put the new ``value`` where the secret is kept: the instance's file, replaced whole;
    or, given by environment, ``out``, a new file (0600) for the operator's secret store.
    Raises ConfigurationError when there is nowhere to put it."""
    if out is not None:
        if not instance.write_private(out, value.encode("ascii")):
            raise ConfigurationError(f"{out} exists; not writing over it")
        return out
    if secret.path is None:
        raise ConfigurationError(
            f"{secret.variable} is given by environment: give --out FILE to write its new "
            "value there, for your secret store"
        )
    instance.replace_private(secret.path, value.encode("ascii"))
    return secret.path


@contextmanager
def step(services: Services, event: str, reason: str, now: datetime) -> Iterator[None]:
    """Enter a rotation step in the audit log in the transaction the block runs in: the new
    value is written inside it, so an entry is committed only for a value written. The
    entry names the operator's step and the key's id; the actor is the operator (null)."""
    entry = Event(
        event=event, actor=None, outcome="ok", trace_id=events.new_trace_id(),
        processing_activity=ADMINISTRATION, reason=reason,
    )  # fmt: skip
    with services.store.write() as tx:
        tx.append([entry], now)
        yield


def record(services: Services, event: str, reason: str, now: datetime) -> None:
    """Enter a rotation step that wrote no secret (a rewrap done) in the audit log."""
    with step(services, event, reason, now):
        return


@dataclass(frozen=True)
class SigningStep:
    """What a signing key step did: the set now, the key it concerned, where it went."""

    keys: keyring.SigningKeys
    kid: str
    written: Path


def signing_keys(settings: config.Settings) -> tuple[keyring.SigningKeys, str]:
    """The instance's signing keys as given now, and the notes' origin."""
    keys = keyring.parse(current(settings, SIGNING).text)
    return keys, log_origin(settings, keys)


def add_signing_key(
    settings: config.Settings, key: jwk.Key | None, now: datetime, out: Path | None
) -> SigningStep:
    """A new key (``key``, or one made now) published beside the active one. The set takes
    the notes' origin along, so the origin stays when the first key is no longer active.
    Raises ConfigurationError (a rotation under way, a key not Ed25519)."""
    key = key or jwk.generate("Ed25519")
    if jwk.key_type(key) != ("OKP", "Ed25519"):
        raise ConfigurationError("the gateway signs notes with Ed25519: give an Ed25519 key")
    keys, origin = signing_keys(settings)
    if keys.origin is None:
        keys = replace(keys, origin=origin)
    return _signing_step(settings, keys.add(key, now), jwk.thumbprint(key), "published", now, out)


def activate_signing_key(
    settings: config.Settings, kid: str, now: datetime, out: Path | None
) -> SigningStep:
    """``kid`` signs receipts, tokens and checkpoints from now on; the key it replaces
    overlaps (still published, still co-signing notes). Raises ConfigurationError."""
    keys, _ = signing_keys(settings)
    return _signing_step(settings, keys.activate(kid, now), kid, "activated", now, out)


def retire_signing_key(
    settings: config.Settings, kid: str, now: datetime, out: Path | None
) -> SigningStep:
    """``kid`` signs nothing from now on; its public key stays published as retired, its
    private half is gone from the new value. Raises ConfigurationError."""
    keys, _ = signing_keys(settings)
    return _signing_step(settings, keys.retire(kid, now), kid, "retired", now, out)


def _signing_step(
    settings: config.Settings, keys: keyring.SigningKeys, kid: str, what: str, now: datetime,
    out: Path | None,
) -> SigningStep:  # fmt: skip
    with (
        operator_services(settings) as services,
        step(services, "signing_key.changed", f"{what}:{kid}", now),
    ):
        written = write(current(settings, SIGNING), keys.dumps(), out)
    return SigningStep(keys, kid, written)


def describe_signing_keys(settings: config.Settings) -> Iterator[str]:
    """Lines for the operator: the origin, then each key's kid, state, since and note key."""
    keys, origin = signing_keys(settings)
    yield f"origin {origin}"
    for entry in sorted(keys.entries, key=lambda e: keyring.STATES.index(e.state)):
        since = f" since {entry.since}" if entry.since else ""
        yield f"{entry.state:<8}{entry.kid}{since}"
        yield f"        note key {checkpoints.vkey(origin, entry.key)}"
