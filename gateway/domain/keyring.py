"""The gateway's own signing keys as a set that rotates without a signature ever going stale
(issue #33).

Exactly one key is *active*: it signs receipts, tokens and checkpoints. Beside it, while
a rotation is under way, an *overlap* key: published, and co-signing every checkpoint
note (a C2SP signed note may carry several signatures), but signing nothing else. So a
witness or verifier that holds either key's note key accepts every note of the overlap,
and a client that fetched the key set before or after a step finds the key of every
receipt in it. A *retired* key signs nothing any more and only its public half is kept:
it stays published for good, because what it signed (receipts, tokens, checkpoints) must
verify for as long as anyone holds them.

A rotation is three steps, each rolled to every instance before the next (docs/deploy.md):
add a key (overlap: published before it signs), activate it (the old one steps back to
overlap: still published, still co-signing notes), retire the old one. Two instances one
step apart always publish every key the other signs with.

The set is one JSON document, the value of GATEWAY_SIGNING_KEY or the instance's
``signing.jwk``: a single private JWK (an instance that never rotated, as before) or
``{"origin": …, "keys": [{"state": …, "jwk": …, "since": …}, …]}``. The origin travels
in the set because the notes' default origin is named after the first key: a rotation
must not change it, or witnesses would take the log for a new one. Must not import
Flask or SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.domain.audit import events
from gateway.domain.audit.checkpoints import check_origin
from gateway.domain.wire import jwk, strictjson
from gateway.errors import BadRequest, CheckpointError, ConfigurationError, MalformedMessage

ACTIVE, OVERLAP, RETIRED = "active", "overlap", "retired"
STATES = (ACTIVE, OVERLAP, RETIRED)
"""in the order the key set publishes them (the active key first)"""


@dataclass(frozen=True)
class Entry:
    """One key of the set: its state, the key (private unless retired), since when."""

    state: str
    key: jwk.Key
    since: str | None = None
    """RFC 3339: when it took this state (for the operator's eye; the log has the steps)"""

    @property
    def kid(self) -> str:
        return jwk.thumbprint(self.key)


@dataclass(frozen=True)
class SigningKeys:
    """The gateway's signing keys; one active, at most one overlapping, any retired."""

    entries: tuple[Entry, ...]
    origin: str | None = None
    """the notes' origin when GATEWAY_LOG_ORIGIN is not set (kept stable across rotations)"""

    def __post_init__(self) -> None:
        states = [entry.state for entry in self.entries]
        if states.count(ACTIVE) != 1:
            raise ConfigurationError("gateway signing keys: exactly one must be active")
        if states.count(OVERLAP) > 1:
            raise ConfigurationError("gateway signing keys: at most one may overlap")
        if len({entry.kid for entry in self.entries}) != len(self.entries):
            raise ConfigurationError("gateway signing keys: a key is listed twice")
        if self.origin is not None:
            try:
                check_origin(self.origin)
            except CheckpointError as error:
                raise ConfigurationError(f"gateway signing keys: {error.detail}") from None

    @property
    def active(self) -> jwk.Key:
        return next(e.key for e in self.entries if e.state == ACTIVE)

    @property
    def overlap(self) -> tuple[jwk.Key, ...]:
        """The keys that co-sign notes beside the active one."""
        return tuple(e.key for e in self.entries if e.state == OVERLAP)

    @property
    def rotated(self) -> bool:
        """Whether the set holds more than the one key an instance starts with."""
        return len(self.entries) > 1 or self.origin is not None

    def published(self) -> list[dict[str, Any]]:
        """Every key that verifies something the gateway signed, as public JWKs: the active
        one first, then the overlapping one, then the retired ones. What the JWKS serves."""
        ordered = sorted(self.entries, key=lambda e: STATES.index(e.state))
        return [jwk.public_jwk(e.key) for e in ordered]

    def retired(self) -> list[dict[str, Any]]:
        """The retired keys as public JWKs: they verify what they signed, and sign nothing."""
        return [jwk.public_jwk(e.key) for e in self.entries if e.state == RETIRED]

    def find(self, kid: str) -> Entry:
        """Raises ConfigurationError naming the kids there are, when ``kid`` is not one."""
        for entry in self.entries:
            if entry.kid == kid:
                return entry
        kids = ", ".join(f"{e.kid} ({e.state})" for e in self.entries)
        raise ConfigurationError(f"no gateway signing key {kid}; the keys: {kids}")

    def add(self, key: jwk.Key, now: datetime) -> SigningKeys:
        """``key`` published beside the active one (overlap). Raises ConfigurationError while
        another rotation is under way, or for a key the set holds already."""
        if self.overlap:
            raise ConfigurationError(
                f"a rotation is under way: {jwk.thumbprint(self.overlap[0])} overlaps; "
                "activate or retire it first"
            )
        if jwk.thumbprint(key) in {e.kid for e in self.entries}:
            raise ConfigurationError("the set holds this key already")
        return replace(self, entries=(*self.entries, Entry(OVERLAP, key, _at(now))))

    def activate(self, kid: str, now: datetime) -> SigningKeys:
        """``kid`` signs from now on; the active key steps back to overlap. Raises
        ConfigurationError unless ``kid`` overlaps (a retired key lost its private half)."""
        chosen = self.find(kid)
        if chosen.state != OVERLAP:
            raise ConfigurationError(f"key {kid} is {chosen.state}: only the overlapping key "
                                     "(added with add-signing-key) can be activated")  # fmt: skip
        stamp = _at(now)
        return replace(self, entries=tuple(
            replace(e, state=OVERLAP, since=stamp) if e.state == ACTIVE
            else replace(e, state=ACTIVE, since=stamp) if e.kid == kid else e
            for e in self.entries
        ))  # fmt: skip

    def retire(self, kid: str, now: datetime) -> SigningKeys:
        """``kid`` signs nothing from now on; its public half stays. Raises
        ConfigurationError unless ``kid`` overlaps (the active key: activate another first)."""
        chosen = self.find(kid)
        if chosen.state != OVERLAP:
            raise ConfigurationError(f"key {kid} is {chosen.state}: only the overlapping key "
                                     "can be retired (activate its successor first)")  # fmt: skip
        public = jwk.import_jwk(jwk.public_jwk(chosen.key))
        retired = Entry(RETIRED, public, _at(now))
        return replace(self, entries=tuple(retired if e.kid == kid else e for e in self.entries))

    def dumps(self) -> str:
        """The set as the JSON document GATEWAY_SIGNING_KEY or signing.jwk holds."""
        document: dict[str, Any] = {"origin": self.origin} if self.origin else {}
        document["keys"] = [
            {"state": e.state,
             "jwk": jwk.public_jwk(e.key) if e.state == RETIRED else jwk.private_jwk(e.key),
             **({"since": e.since} if e.since else {})}
            for e in self.entries
        ]  # fmt: skip
        return json.dumps(document, indent=2) + "\n"


def _at(now: datetime) -> str:
    return events.format_time(now)


def single(key: jwk.Key) -> SigningKeys:
    """The set of an instance that never rotated: its one key, active."""
    return SigningKeys((Entry(ACTIVE, key),))


def parse(text: bytes | str) -> SigningKeys:
    """A private JWK or a key set document. Raises ConfigurationError saying what is wrong
    (never a key's value)."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        document = strictjson.loads_object(raw)
        if "kty" in document:
            return single(jwk.import_jwk(document, private=True))
        return _parse_set(document)
    except (BadRequest, MalformedMessage) as error:
        raise ConfigurationError(f"gateway signing key: {error.detail}") from None


def _parse_set(document: Mapping[str, Any]) -> SigningKeys:
    if set(document) - {"origin", "keys"} or not isinstance(document.get("keys"), list):
        raise BadRequest('a key set is {"origin": …, "keys": [ … ]}')
    origin = document.get("origin")
    if origin is not None and not isinstance(origin, str):
        raise BadRequest("the key set's origin is a string")
    return SigningKeys(tuple(_entry(item) for item in document["keys"]), origin)


def _entry(item: Any) -> Entry:
    if not isinstance(item, dict) or set(item) - {"state", "jwk", "since"}:
        raise BadRequest('each key is {"state": …, "jwk": …, "since": …}')
    state, since = item.get("state"), item.get("since")
    if state not in STATES:
        raise BadRequest(f"a key's state is one of {', '.join(STATES)}")
    if since is not None and not isinstance(since, str):
        raise BadRequest("a key's since is an RFC 3339 time")
    return Entry(state, jwk.import_jwk(item.get("jwk") or {}, private=state != RETIRED), since)
