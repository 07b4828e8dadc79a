"""COA's keys a municipality pinned: the only keys a version-2 profile verifies against (#32).

Whoever runs the gateway could change a category of a version-2 handover profile and
sign the delivery anew; only COA's own signature tells, and only when it is checked
against a key the gateway cannot swap. The gateway publishes COA's keys
(``GET /v1/parties/{oin}/keys``), but a municipality that took them afresh at every check
would trust the gateway for them after all. So it pins them, in a file of its own:

- the first time a version-2 profile comes and no issuer is pinned yet, the keys the
  gateway publishes for its sender are written to the file, and said once on stderr with
  their thumbprints, for the operator to compare with COA's own announcement;
- from then on only a pinned key verifies. A profile signed by another key is refused
  (not kept, not acknowledged), with the command that pins a new key once its thumbprint
  was compared (``gateway connect municipality pin-issuer-key``); a key's ``kid`` is its
  RFC 7638 thumbprint, so the gateway cannot hand over other material for a compared one;
- only the first issuer is pinned on first use: a profile from a second OIN waits for the
  operator too, so a gateway cannot slip in an issuer of its own making later.

The file holds public keys and OINs only, never personal data, and is written whole
(``write_durably``). A file that cannot be read stops the pull: taking it for "nothing
pinned yet" would pin afresh whatever the gateway offers then.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connectors.common.client import GatewayClient, TransportError
from connectors.common.durable import write_durably
from gateway.client import wire
from gateway.errors import GatewayError, InvalidSignature, NotFound

PIN_FILE = "issuer-keys.json"
"""The pin file's name in a console's data folder (the command line's default, too)"""
ABOUT = (
    "COA's keys this municipality pinned (public JWKs, kid = RFC 7638 thumbprint): only "
    "these verify a version-2 handover profile. Add one with `gateway connect municipality "
    "pin-issuer-key` after comparing its thumbprint with COA's announcement."
)
issuer_keys_option = click.option(
    "--issuer-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(PIN_FILE),
    show_default=True,
    envvar="GATEWAY_ISSUER_KEYS",
    show_envvar=True,
    help="file of COA's keys pinned here, which a version-2 profile (COA's SD-JWT) must "
    "verify against; on first use COA's published keys are pinned in it (keep it with the "
    "case system's state; a console keeps its own in its --data folder)",
)
_KID = re.compile(r"[A-Za-z0-9_-]{43}")
_first_use = threading.Lock()
"""the console's puller and its pages may meet a first profile at once: one pins, once"""


class NotPinned(InvalidSignature):
    """A version-2 profile signed by a key (or an issuer) this municipality did not pin:
    refused as a bad signature is, with what the operator can do about it."""


class PinFileError(GatewayError):
    """The pin file is there but cannot be read as one."""

    code = "pin-file"
    title = "The file of pinned COA keys cannot be read"


def _stderr(text: str) -> None:
    click.echo(text, err=True)


def shown_kid(kid: object) -> str:
    """A kid as it may be printed: a thumbprint, or words (it came from outside)."""
    return kid if isinstance(kid, str) and _KID.fullmatch(kid) else "(a kid that is no thumbprint)"


class Pins:
    """The pin file at ``path``: issuer OIN → the keys pinned for it, with when and how."""

    def __init__(self, path: Path, tell: Callable[[str], None] = _stderr) -> None:
        """``tell``: hears, in words, what was pinned (stderr by default)."""
        self.path = path
        self.tell = tell

    # -- reading ---------------------------------------------------------------------

    def _read(self) -> dict[str, list[dict[str, Any]]]:
        """Issuer → its pin records; empty when there is no file yet. Raises PinFileError."""
        if not self.path.exists():
            return {}
        try:
            issuers = wire.loads_object(self.path.read_bytes()).get("issuers")
            if not isinstance(issuers, dict) or not all(
                isinstance(v, list) and all(isinstance(r, dict) for r in v)
                for v in issuers.values()
            ):
                raise ValueError
            for records in issuers.values():
                for record in records:
                    _key_of(record)
        except (GatewayError, ValueError, TypeError, KeyError, OSError):
            raise PinFileError(
                f"{self.where()} is not a file of pinned COA keys; restore it from a backup "
                "(removing it would pin afresh whatever the gateway offers next)"
            ) from None
        return issuers

    def pinned(self) -> dict[str, list[str]]:
        """Issuer → the thumbprints pinned for it."""
        return {oin: [str(r["jwk"]["kid"]) for r in records]
                for oin, records in self._read().items()}  # fmt: skip

    def where(self) -> str:
        return str(self.path.absolute())

    # -- the check -------------------------------------------------------------------

    def keys(self, client: GatewayClient, issuer: str, kid: str) -> dict[str, wire.Key]:
        """The keys pinned for ``issuer`` (thumbprint → key), for a profile signed by ``kid``.

        On first use (no issuer pinned yet) the gateway's published keys of ``issuer`` are
        pinned and said. Raises NotPinned when ``issuer`` or ``kid`` is not pinned,
        PinFileError, or what the client raises (TransportError: the gateway away).
        """
        with _first_use:
            issuers = self._read()
            if not issuers:
                self._first(client, issuer)
                issuers = self._read()
        records = issuers.get(issuer)
        if records is None:
            raise NotPinned(
                f"a version-2 profile from {issuer}, an issuer not pinned in {self.where()} "
                f"(pinned: {', '.join(sorted(issuers))}); not kept, not acknowledged. If COA "
                f"signs with that OIN, compare its key's thumbprint with COA's announcement, "
                f"then: {self.command(issuer, kid)}"
            )
        keys = {str(r["jwk"]["kid"]): _key_of(r) for r in records}
        if kid not in keys:
            raise NotPinned(
                f"a version-2 profile signed by COA key {shown_kid(kid)}, which is not pinned "
                f"in {self.where()}; not kept, not acknowledged. If COA announced a new key, "
                f"compare its thumbprint with that announcement, then: "
                f"{self.command(issuer, kid)}"
            )
        return keys

    def command(self, issuer: str, kid: str) -> str:
        """The command that pins ``kid`` of ``issuer`` into this file."""
        return (
            f"gateway connect municipality pin-issuer-key --issuer {issuer} "
            f"--kid {shown_kid(kid)} --issuer-keys {self.where()}"
        )

    # -- pinning ---------------------------------------------------------------------

    def _first(self, client: GatewayClient, issuer: str) -> None:
        offered = published(client, issuer)
        if not offered:
            raise NotPinned(f"the gateway publishes no key for {issuer}: nothing to pin")
        self._write({issuer: [_record(jwk, "first use") for jwk in offered.values()]})
        self.tell(
            f"pinned COA's keys ({issuer}) on first use in {self.where()}: "
            f"{', '.join(sorted(offered))}; compare these thumbprints with COA's announcement "
            "(from now on only pinned keys verify COA's signature)"
        )

    def pin(self, client: GatewayClient, issuer: str, kid: str) -> bool:
        """Pin ``kid``, a key the gateway publishes for ``issuer``, after the operator compared
        its thumbprint with COA's announcement; True when it was not pinned before.

        Raises NotPinned when the gateway publishes no such key (the key material comes from
        the gateway, but a kid is the thumbprint of its material: none other passes).
        """
        with _first_use:
            issuers = self._read()
            records = issuers.get(issuer, [])
            if any(r["jwk"]["kid"] == kid for r in records):
                return False
            offered = published(client, issuer)
            if kid not in offered:
                raise NotPinned(
                    f"the gateway publishes no key {shown_kid(kid)} for {issuer} "
                    f"(it publishes: {', '.join(sorted(offered)) or 'none'})"
                )
            self._write({**issuers, issuer: [*records, _record(offered[kid], "operator")]})
        return True

    def _write(self, issuers: dict[str, list[dict[str, Any]]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"about": ABOUT, "issuers": issuers}
        write_durably(self.path, (json.dumps(document, indent=2) + "\n").encode())


def published(client: GatewayClient, issuer: str) -> dict[str, dict[str, Any]]:
    """The public JWKs the gateway publishes for ``issuer`` now, by thumbprint (each checked
    to be its kid); empty for an OIN whose signature recipients do not verify."""
    try:
        keys = client.get_json(f"/v1/parties/{issuer}/keys").get("keys")
    except NotFound:
        return {}
    if not isinstance(keys, list):
        raise TransportError("an issuer's keys without a list of keys")
    found: dict[str, dict[str, Any]] = {}
    for jwk in keys:
        key = wire.import_jwk(jwk)  # raises for a kid that is not the material's thumbprint
        found[wire.thumbprint(key)] = {**jwk, "kid": wire.thumbprint(key)}
    return found


def _record(jwk: dict[str, Any], how: str) -> dict[str, Any]:
    return {"jwk": jwk, "pinned_at": wire.format_time(datetime.now(UTC)), "how": how}


def _key_of(record: dict[str, Any]) -> wire.Key:
    """A pin record's key. Raises (BadRequest, KeyError) for one that is not a public JWK
    whose kid is its thumbprint."""
    key = wire.import_jwk(record["jwk"])
    if wire.thumbprint(key) != record["jwk"]["kid"]:
        raise KeyError("kid")
    return key
