"""Selective disclosure for JWTs (RFC 9901): the disclosures, their digests, and the strict
processing a verifier applies, on the standard library alone.

Issue #32's groundwork: COA conceals each category of the blue folder in a
disclosure (``conceal``), the gateway forwards the issuer-signed JWT with only
the disclosures a recipient may have (``select``), and the recipient checks
every forwarded disclosure against the digests COA signed (``reveal``). The
signature over the JWT is the envelope's business (joserfc, behind our
profile gate); this module never sees a key. ``reveal`` follows RFC 9901
§7.1 step by step and refuses what the reference library lets through: a
disclosure no digest references (step 5), a digest met twice (step 4), a
hash algorithm other than SHA-256, a malformed disclosure or ``_sd``. Must
not import Flask or SQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.wire import strictjson
from gateway.errors import GatewayError, MalformedMessage

SD, ALG, ELEMENT = "_sd", "_sd_alg", "..."
SHA_256 = "sha-256"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_DISCLOSURES = 256


class Refused(MalformedMessage):
    """An SD-JWT that RFC 9901 says to reject (the detail names the rule)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not _B64URL.match(text):
        raise Refused("a disclosure is not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(disclosure: str) -> str:
    """RFC 9901 §4.2.3: SHA-256 over the disclosure's ASCII characters, base64url."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def disclose(name: str | None, value: Any, salt: str | None = None) -> str:
    """A disclosure: ``[salt, name, value]`` for an object property, ``[salt, value]`` for
    an array element (``name`` None), as base64url of its JSON. The salt is 128 bits of
    ``secrets`` unless given (test vectors)."""
    salt = salt if salt is not None else b64url(secrets.token_bytes(16))
    items = [salt, value] if name is None else [salt, name, value]
    return b64url(json.dumps(items, ensure_ascii=False).encode())


@dataclass(frozen=True)
class Concealed:
    payload: dict[str, Any]
    """the claims to sign: ``_sd`` digests where the concealed claims were, ``_sd_alg``"""
    disclosures: dict[str, str]
    """claim name → its disclosure"""


def conceal(
    claims: Mapping[str, Any], names: Iterable[str], decoys: int = 0, *, top: bool = True
) -> Concealed:
    """The claims with ``names`` each moved into a disclosure, and ``decoys`` random
    digests beside theirs so their count does not tell how many there are; the digests
    sorted, so their order tells nothing either (RFC 9901 §4.2.4, §4.2.5). ``top``: the
    payload's own level, which names the hash algorithm (``_sd_alg``); an object nested in
    a disclosure does not."""
    hidden = set(names)
    if not hidden <= set(claims) or {SD, ALG} & set(claims):
        raise ValueError("conceal names claims of the payload, never _sd or _sd_alg")
    disclosures = {name: disclose(name, claims[name]) for name in sorted(hidden)}
    fakes = [b64url(hashlib.sha256(secrets.token_bytes(32)).digest()) for _ in range(decoys)]
    payload = {k: v for k, v in claims.items() if k not in hidden}
    payload[SD] = sorted([digest(d) for d in disclosures.values()] + fakes)
    if top:
        payload[ALG] = SHA_256
    return Concealed(payload, disclosures)


@dataclass(frozen=True)
class Presentation:
    """An SD-JWT in its compact form: ``<issuer-signed JWT>~<disclosure>~…~[<KB-JWT>]``."""

    jwt: str
    disclosures: tuple[str, ...]
    key_binding: str = ""

    def serialize(self) -> str:
        return "~".join([self.jwt, *self.disclosures, self.key_binding])

    def select(self, digests: set[str]) -> Presentation:
        """Only the disclosures whose digest is in ``digests`` (the holder's choice; no key
        binding: a new one binds the new selection)."""
        return Presentation(self.jwt, tuple(d for d in self.disclosures if digest(d) in digests))


def parse(text: str) -> Presentation:
    """The compact form, read strictly. Raises Refused."""
    parts = text.split("~")
    if len(parts) < 2 or not parts[0] or len(parts) - 2 > MAX_DISCLOSURES:
        raise Refused("an SD-JWT is the JWT, then disclosures, each followed by '~'")
    if any(not p for p in parts[1:-1]):
        raise Refused("an SD-JWT has no empty disclosure")
    return Presentation(parts[0], tuple(parts[1:-1]), parts[-1])


@dataclass(frozen=True)
class Processed:
    claims: dict[str, Any]
    """the payload with every disclosure in its place, ``_sd`` and ``_sd_alg`` removed"""
    undisclosed: frozenset[str]
    """the digests met whose disclosure was not given: decoys, and what the holder kept back"""


def reveal(payload: Mapping[str, Any], disclosures: Iterable[str]) -> dict[str, Any]:
    """The processed payload (RFC 9901 §7.1 step 3 to 5); see ``process``."""
    return process(payload, disclosures).claims


def process(payload: Mapping[str, Any], disclosures: Iterable[str]) -> Processed:
    """RFC 9901 §7.1 step 3 to 5: every disclosure put in the place its digest marks,
    recursively; the rest of ``_sd`` and ``_sd_alg`` removed. Raises Refused for a hash
    algorithm other than SHA-256, a malformed ``_sd`` or disclosure, a claim named twice,
    a digest met twice, or a disclosure no digest references."""
    if payload.get(ALG, SHA_256) != SHA_256:
        raise Refused("_sd_alg other than sha-256")
    by_digest: dict[str, str] = {}
    for item in disclosures:
        found = digest(item)
        if found in by_digest:
            raise Refused("a disclosure given twice")
        by_digest[found] = item
    state = _State(by_digest)
    processed = state.walk({k: v for k, v in payload.items() if k != ALG})
    unused = set(by_digest) - state.used
    if unused:
        raise Refused(f"{len(unused)} disclosure(s) referenced by no digest (RFC 9901 §7.1 5)")
    assert isinstance(processed, dict)
    return Processed(processed, frozenset(state.seen - state.used))


@dataclass
class _State:
    by_digest: dict[str, str]
    seen: set[str] = field(default_factory=set)
    """every digest met, in the payload and in the disclosures"""
    used: set[str] = field(default_factory=set)
    """the digests whose disclosure was given"""

    def _meet(self, found: str) -> str | None:
        if found in self.seen:
            raise Refused("a digest met twice (RFC 9901 §7.1 4)")
        self.seen.add(found)
        disclosure = self.by_digest.get(found)
        if disclosure is not None:
            self.used.add(found)
        return disclosure

    def walk(self, node: Any, depth: int = 0) -> Any:
        """``node`` with its disclosures in place. Raises Refused past the contract's
        nesting (32): each disclosure is bounded alone, but a chain of them (one hiding the
        next one's digest) nested thousands deep and overran the stack (a 500)."""
        if depth > strictjson.MAX_DEPTH:
            raise Refused(f"disclosed claims nest deeper than {strictjson.MAX_DEPTH}")
        if isinstance(node, dict):
            return self._object(node, depth)
        if isinstance(node, list):
            return self._array(node, depth)
        return node

    def _object(self, node: dict[str, Any], depth: int) -> dict[str, Any]:
        digests = node.get(SD, [])
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise Refused("_sd is not an array of strings")
        found = {k: self.walk(v, depth + 1) for k, v in node.items() if k != SD}
        for each in digests:
            disclosure = self._meet(each)
            if disclosure is None:
                continue  # a decoy, or a disclosure not forwarded
            items = _items(disclosure)
            if len(items) != 3 or not isinstance(items[1], str):
                raise Refused("a property's disclosure is [salt, name, value]")
            name = items[1]
            if name in (SD, ELEMENT) or name in found:
                raise Refused("a disclosed claim named _sd, '...', or twice")
            found[name] = self.walk(items[2], depth + 1)
        return found

    def _array(self, node: list[Any], depth: int) -> list[Any]:
        kept = []
        for element in node:
            if isinstance(element, dict) and set(element) == {ELEMENT}:
                if not isinstance(element[ELEMENT], str):
                    raise Refused("an array element's digest is not a string")
                disclosure = self._meet(element[ELEMENT])
                if disclosure is None:
                    continue
                items = _items(disclosure)
                if len(items) != 2:
                    raise Refused("an array element's disclosure is [salt, value]")
                kept.append(self.walk(items[1], depth + 1))
            else:
                kept.append(self.walk(element, depth + 1))
        return kept


def decoded(disclosure: str) -> list[Any] | None:
    """A disclosure's items (``[salt, name, value]`` or ``[salt, value]``), or None when it
    is not one: for a holder reading its own stored copy, which must never fail a read."""
    try:
        return _items(disclosure)
    except Refused:
        return None


def _items(disclosure: str) -> list[Any]:
    try:
        items = strictjson.loads(_unb64url(disclosure))
    except (GatewayError, ValueError, UnicodeDecodeError):
        raise Refused("a disclosure is not base64url of strict JSON") from None
    if not isinstance(items, list) or not items or not isinstance(items[0], str):
        raise Refused("a disclosure is a JSON array that starts with its salt")
    return items
