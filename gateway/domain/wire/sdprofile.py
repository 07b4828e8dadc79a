"""The handover profile's second format (version 2): one SD-JWT COA signs, the gateway cuts
by leaving disclosures out, and the municipality verifies against COA's own key (issue #32).

Version 1 is a JWS the gateway cuts and signs again, so a municipality trusts the gateway
for what COA said. Version 2 is COA's issuer-signed JWT (typ ``inburgering-profile+sd-jwt``)
whose payload holds the message's envelope members in clear (the gateway routes and checks
by them), ``iss`` (the sender), ``iat`` (``issued_at``'s second), ``_sd_alg`` and a ``body``
that is nothing but ``_sd``: exactly ``BODY_DIGESTS`` digests, one per category present
and decoys for the rest, so the count of categories does not leak. Each category is one
disclosure ``[salt, category, value]``; within a category's value the issuer may conceal
members apart (``MEMBERS_APART``: health, the GDPR art. 9 data), and then every digest in
a category has its disclosure (decoys live only in the body), so a recipient can tell a
member taken out from one never there.

Three readers, three strictnesses:

- intake (``parse`` then ``verify``): the profile gate first (the contract's members, no
  key-binding JWT, no digest outside the body), the signature through ``envelope``, then
  RFC 9901 §7.1 (``sdjwt.process``) and this profile's rules;
- the gateway reading its own stored copy (``stored``): total and lenient, by the
  categories' names, because it must never fail a pull; it forwards what it stored, so a
  disclosure changed in its database reaches the municipality, which refuses it;
- the municipality (``verify_delivered``): everything intake checks, against COA's key it
  pinned itself, and that the delivery's members are the ones COA signed.

Must not import Flask or SQL (the connectors use it through ``gateway.client``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain.vocabulary import HANDOVER_PROFILE
from gateway.domain.wire import envelope, sdjwt, strictjson
from gateway.domain.wire.envelope import Header, UnverifiedJWS, VerifiedJWS
from gateway.domain.wire.jwk import Key, thumbprint
from gateway.errors import InvalidSignature, MalformedMessage

SD_TYP = "inburgering-profile+sd-jwt"
MEDIA_TYPE = "application/sd-jwt"
FORMS = frozenset({(HANDOVER_PROFILE, 2)})
"""(type, version) that travel only as an SD-JWT, and never as a JWS"""


def form(payload: Mapping[str, Any]) -> tuple[str, int] | None:
    """The payload's (type, version) when both are of their kind (a string, an integer
    that is no float or boolean); None otherwise, for the schemas to refuse. Unverified
    claims: a ``type`` that is a list must not make the lookup raise (it was a 500)."""
    type_, version = payload.get("type"), payload.get("version")
    return (type_, version) if isinstance(type_, str) and type(version) is int else None
BODY_DIGESTS = 16
"""the length of every version-2 body's ``_sd``: the categories' digests and decoys"""
MEMBERS_APART = ("health",)
"""categories whose members COA conceals each in a disclosure of its own, inside the
category's: special-category data, which a later policy may let go member by member"""
ENVELOPE = frozenset(
    {"message_id", "type", "version", "sender", "recipient", "subject", "issued_at", "staff"}
)
CLEAR = ENVELOPE | {"body", "iss", "iat", sdjwt.ALG}
"""every member the issuer-signed JWT may hold in clear; nothing else is allowed"""
SIGNED = ("message_id", "type", "version", "sender", "subject", "issued_at")
"""the delivery members a municipality checks against what COA signed"""
_DIGEST_CHARS = 43


@dataclass(frozen=True, slots=True)
class UnverifiedSD:
    """A version-2 message through the profile gate; the signature is not checked yet."""

    raw: bytes
    """the whole compact SD-JWT as received: what is stored, digested and receipted"""
    header: Header
    payload: dict[str, Any]
    """the issuer-signed JWT's payload: the envelope members in clear, the body concealed"""
    jwt: UnverifiedJWS
    disclosures: tuple[str, ...]


def is_sd(raw: bytes) -> bool:
    """An SD-JWT, not a JWS: the compact JWS alphabet has no '~'."""
    return b"~" in raw


def parse_message(raw: bytes) -> UnverifiedJWS | UnverifiedSD:
    """A submitted message in either form, through its profile gate.

    Raises MalformedMessage or UnsupportedHeader, also for a version-2 profile sent as a
    JWS or anything else sent as an SD-JWT.
    """
    if is_sd(raw):
        return parse(raw)
    unverified = envelope.parse(raw, typ=envelope.MESSAGE_TYP)
    if form(unverified.payload) in FORMS:
        raise MalformedMessage(f"this version travels as an SD-JWT (typ {SD_TYP}), not a JWS")
    return unverified


def parse(raw: bytes) -> UnverifiedSD:
    """The profile gate of a version-2 message. Raises MalformedMessage, UnsupportedHeader."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedMessage("an SD-JWT is ASCII") from None
    presentation = sdjwt.parse(text)
    if presentation.key_binding:
        raise MalformedMessage("a handover profile carries no key-binding JWT (ends in '~')")
    jwt = envelope.parse(presentation.jwt.encode("ascii"), typ=SD_TYP)
    _check_clear(jwt.payload)
    return UnverifiedSD(raw, jwt.header, jwt.payload, jwt, presentation.disclosures)


def _check_clear(payload: Mapping[str, Any]) -> None:
    """What the issuer-signed JWT holds in clear: the contract's members, a body of
    ``BODY_DIGESTS`` digests and nothing else, no digest anywhere but there."""
    extra = sorted(set(payload) - CLEAR)
    if extra:
        named = ", ".join(m[:32] for m in extra[:8])
        raise MalformedMessage(f"members not allowed in clear: {named}")
    missing = sorted({"iss", "iat", sdjwt.ALG, "body", "type", "version"} - set(payload))
    if missing:
        raise MalformedMessage(f"missing: {', '.join(missing)}")
    if form(payload) not in FORMS:
        raise MalformedMessage("only handover-profile version 2 travels as an SD-JWT")
    if payload[sdjwt.ALG] != sdjwt.SHA_256:
        raise MalformedMessage("_sd_alg must be sha-256")
    body = payload["body"]
    if not isinstance(body, dict) or set(body) != {sdjwt.SD}:
        raise MalformedMessage("the body holds nothing in clear: only _sd")
    digests = body[sdjwt.SD]
    if (
        not isinstance(digests, list)
        or len(digests) != BODY_DIGESTS
        or not all(isinstance(d, str) and len(d) == _DIGEST_CHARS for d in digests)
    ):
        raise MalformedMessage(f"the body's _sd holds {BODY_DIGESTS} SHA-256 digests")
    if _has_digests({k: v for k, v in payload.items() if k != "body"}):
        raise MalformedMessage("only the body conceals anything")


def _has_digests(node: Any) -> bool:
    if isinstance(node, dict):
        return sdjwt.SD in node or sdjwt.ELEMENT in node or any(map(_has_digests, node.values()))
    if isinstance(node, list):
        return any(map(_has_digests, node))
    return False


def verify(unverified: UnverifiedSD, key: Key, *, kid: str | None = None) -> VerifiedJWS:
    """COA's signature, then its disclosures: the verified message with its body revealed
    (``raw`` the whole SD-JWT). Raises InvalidSignature, UnsupportedHeader, MalformedMessage
    (``sdjwt.Refused`` for what RFC 9901 §7.1 rejects)."""
    envelope.verify(unverified.jwt, key, kid=kid)
    payload = _revealed(unverified.payload, unverified.disclosures)
    return VerifiedJWS(raw=unverified.raw, header=unverified.header, payload=payload, key=key)


def verify_message(
    unverified: UnverifiedJWS | UnverifiedSD, key: Key, *, kid: str | None = None
) -> VerifiedJWS:
    """Either form's signature (and a version 2's disclosures)."""
    if isinstance(unverified, UnverifiedSD):
        return verify(unverified, key, kid=kid)
    return envelope.verify(unverified, key, kid=kid)


def _revealed(signed: Mapping[str, Any], disclosures: Iterable[str]) -> dict[str, Any]:
    """RFC 9901 §7.1 and this profile: no hole inside a category, ``iss`` the sender,
    ``iat`` the second of ``issued_at``; the payload as a JWS message's (no iss, iat)."""
    processed = sdjwt.process(signed, disclosures)
    if processed.undisclosed - set(signed["body"][sdjwt.SD]):
        raise sdjwt.Refused("a digest inside a category without its disclosure")
    payload = {k: v for k, v in processed.claims.items() if k not in ("iss", "iat")}
    if signed["iss"] != signed.get("sender"):
        raise MalformedMessage("iss must be the sender")
    if type(signed["iat"]) is not int or signed["iat"] != _second(signed.get("issued_at")):
        raise MalformedMessage("iat must be the second of issued_at")
    return payload


def _second(issued_at: Any) -> int | None:
    if not isinstance(issued_at, str):
        return None
    try:
        return int(datetime.fromisoformat(issued_at).timestamp())
    except ValueError:
        return None


def issue(payload: Mapping[str, Any], signer: envelope.Signer) -> str:
    """COA's version-2 message from a payload of the contract's (its plain ``body``): each
    category one disclosure, ``MEMBERS_APART`` members each their own inside it, decoys to
    ``BODY_DIGESTS``, signed by ``signer``. Raises ValueError for more categories than that."""
    body = dict(payload["body"])
    if len(body) > BODY_DIGESTS:
        raise ValueError(f"at most {BODY_DIGESTS} categories")
    nested: list[str] = []
    for category in MEMBERS_APART:
        value = body.get(category)
        if isinstance(value, dict) and value:
            inner = sdjwt.conceal(value, value, top=False)
            body[category] = inner.payload
            nested += inner.disclosures.values()
    concealed = sdjwt.conceal(body, body, BODY_DIGESTS - len(body), top=False)
    signed = {
        **{k: v for k, v in payload.items() if k != "body"},
        "body": concealed.payload,
        "iss": payload["sender"],
        "iat": _second(payload["issued_at"]),
        sdjwt.ALG: sdjwt.SHA_256,
    }
    jwt = signer.sign(signed, SD_TYP)
    return sdjwt.Presentation(jwt, (*concealed.disclosures.values(), *nested)).serialize()


def payload_of(raw: bytes) -> dict[str, Any]:
    """The payload of a stored message of either form (the gateway's own copy, verified at
    intake); of a version 2, the envelope members and the body its disclosures reveal."""
    if is_sd(raw):
        return stored(raw).payload
    payload: dict[str, Any] = strictjson.loads_object(
        envelope.b64url_decode(raw.split(b".")[1].decode("ascii"))
    )
    return payload


@dataclass(frozen=True)
class Stored:
    """The gateway's own copy of a version-2 message, read for a pull."""

    jwt: str
    payload: dict[str, Any]
    """the envelope members and the body revealed by the categories' names"""
    by_category: dict[str, tuple[str, ...]]
    """each category's disclosures: its own first, then those nested in it"""

    def select(self, categories: Iterable[str]) -> str:
        """COA's JWT with exactly the disclosures of ``categories``: what is forwarded."""
        chosen = [d for c in sorted(set(categories)) for d in self.by_category.get(c, ())]
        return sdjwt.Presentation(self.jwt, tuple(chosen)).serialize()


def stored(raw: bytes) -> Stored:
    """Read a stored version-2 message without judging it: total over what intake accepted,
    and over disclosures changed since (what it cannot read is left out; a category's
    disclosure is found by its name, even when its digest no longer matches, and passed on
    as it is, for the municipality's verification to refuse). The JWT is COA's signed
    envelope, read as intake read it."""
    jwt, _, rest = raw.partition(b"~")
    payload = envelope.parse(jwt, typ=SD_TYP).payload
    disclosures = [part.decode("ascii") for part in rest.split(b"~") if part and part.isascii()]
    items = {sdjwt.digest(d): (d, sdjwt.decoded(d)) for d in disclosures}
    nests = {d for _, found in items.values() if found for d in _digests_in(found[-1])}
    by_category: dict[str, tuple[str, ...]] = {}
    body: dict[str, Any] = {}
    for found_digest, (disclosure, found) in items.items():
        if found is None or len(found) != 3 or found_digest in nests:
            continue
        name, value = found[1], found[2]
        if not isinstance(name, str) or name in by_category:
            continue
        nested = _nested(value, items)
        by_category[name] = (disclosure, *nested)
        body[name] = _lenient(value, nested)
    payload = {k: v for k, v in payload.items() if k not in ("iss", "iat", sdjwt.ALG)}
    return Stored(jwt.decode("ascii"), {**payload, "body": body}, by_category)


def cut(text: str, categories: Iterable[str]) -> str:
    """A kept version 2 with only the disclosures of ``categories`` (and those nested in
    them): what a withdrawal leaves of a municipality's copy. COA's JWT stays as it is, so
    what remains still verifies; a disclosure that cannot be read goes."""
    return stored(text.encode("ascii")).select(categories)


def kid_of(text: str) -> str:
    """The kid of a version 2's issuer-signed JWT: which pinned key verifies it. Raises
    MalformedMessage or UnsupportedHeader when it is not COA's SD-JWT."""
    if not text.isascii():
        raise MalformedMessage("an SD-JWT is ASCII")
    return envelope.parse(text.split("~", 1)[0].encode("ascii"), typ=SD_TYP).header.kid


def _nested(value: Any, items: Mapping[str, tuple[str, list[Any] | None]]) -> list[str]:
    """The disclosures ``value`` refers to by digest, at any depth, each once: a member
    concealed inside a category, and what is concealed inside that member."""
    found: list[str] = []
    queue, seen = _digests_in(value), set()
    while queue:
        each = queue.pop(0)
        if each in seen or each not in items:
            continue
        seen.add(each)
        disclosure, decoded = items[each]
        found.append(disclosure)
        if decoded:
            queue += _digests_in(decoded[-1])
    return found


def _digests_in(node: Any) -> list[str]:
    """Every digest in ``node``, at any depth (``_sd`` members and array elements)."""
    found: list[str] = []
    if isinstance(node, dict):
        digests = node.get(sdjwt.SD)
        if isinstance(digests, list):
            found += [d for d in digests if isinstance(d, str)]
        if set(node) == {sdjwt.ELEMENT} and isinstance(node[sdjwt.ELEMENT], str):
            found.append(node[sdjwt.ELEMENT])
        for value in node.values():
            found += _digests_in(value)
    elif isinstance(node, list):
        for value in node:
            found += _digests_in(value)
    return found


def _lenient(value: Any, nested: list[str]) -> Any:
    try:
        return sdjwt.reveal({"v": value}, nested)["v"]
    except sdjwt.Refused:
        return value


def _same(member: str, value: Any) -> Any:
    """A member as compared: a message id in any case is the same id (the gateway's lower)."""
    return value.lower() if member == "message_id" and isinstance(value, str) else value


@dataclass(frozen=True)
class Verified:
    """A delivered version-2 profile the municipality checked itself."""

    body: dict[str, Any]
    """the categories COA signed, as it signed them"""
    issuer: str
    kid: str
    """the thumbprint of COA's key that signed it"""


def verify_delivered(
    delivery: Mapping[str, Any], keys: Mapping[str, Key], *, recipient: str | None = None
) -> Verified:
    """What a municipality does with a delivered version-2 profile: COA's signature by a key
    it pinned (``keys``: thumbprint → key), every disclosure one COA signed (RFC 9901 §7.1)
    and no hole inside a category, the delivery's members the ones COA signed, nothing
    delivered that the delivery says was withheld; with ``recipient`` (the verifier's own
    OIN), a profile COA addressed to it (not another municipality's, handed on).

    Raises InvalidSignature (no pinned key, or it does not verify) or MalformedMessage.
    """
    text = delivery.get("sd_jwt")
    if not isinstance(text, str):
        raise MalformedMessage("a version-2 delivery carries sd_jwt")
    unverified = parse(text.encode("ascii") if text.isascii() else b"\xff")
    key = keys.get(unverified.header.kid)
    if key is None:
        raise InvalidSignature("not signed by a COA key this party pinned")
    payload = verify(unverified, key).payload  # the kid checked against the key's thumbprint
    differs = [m for m in SIGNED if _same(m, payload.get(m)) != _same(m, delivery.get(m))]
    if differs:
        raise MalformedMessage(f"the delivery's {', '.join(differs)} is not what COA signed")
    if recipient is not None and payload.get("recipient") != recipient:
        raise MalformedMessage("COA addressed this profile to another party")
    withheld = delivery.get("withheld_categories", [])
    if not isinstance(withheld, list) or set(withheld) & set(payload["body"]):
        raise MalformedMessage("a category delivered that the delivery says was withheld")
    return Verified(payload["body"], str(payload["sender"]), thumbprint(key))
