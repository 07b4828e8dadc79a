"""A version-2 handover profile as a municipality keeps it: verified against COA's key it
pinned, its body the one COA signed, and cut again when a withdrawal takes a category.

The gateway hands a version 2 (issue #32) out without a ``body`` of its own: ``sd_jwt``
is COA's issuer-signed JWT with the disclosures the municipality may have now, under the
gateway's delivery (or profile) token as ever. The token says what the gateway handed
out; only COA's signature says what COA wrote. So a puller checks both, and keeps:

- ``body``: the categories as COA signed them (``gateway.client.sdjwt.verify_delivered``
  against the pinned keys, ``issuers``), so the case system's folder, its webhook and the
  console read a version 2 exactly as a version 1;
- ``coa_signature``: ``{"issuer": OIN, "kid": thumbprint}``, which only this verification
  writes (a delivery that comes with one is refused);
- ``sd_jwt`` as it came, for the case system to verify again later.

The gateway's token signs the delivery without ``body`` and ``coa_signature``: to check it
again, leave those two out. A withdrawal takes the withdrawn categories' disclosures out
of ``sd_jwt`` too (``cut_to``): what remains is still COA's signature over what is left.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.issuers import NotPinned, Pins
from gateway.client import sdjwt
from gateway.errors import GatewayError, InvalidSignature

MARKER = "coa_signature"
"""the member that says a kept profile was verified here against COA's pinned key"""


def _named(delivery: dict[str, Any]) -> str:
    """The delivery as an error names it: by its ids, never by what it holds."""
    delivery_id = delivery.get("delivery_id")
    if isinstance(delivery_id, str):
        return f"delivery {delivery_id[:100]}"
    return f"profile of message {str(delivery.get('message_id'))[:100]}"


def with_coa_body(
    client: GatewayClient, delivery: dict[str, Any], pins: Pins | None
) -> dict[str, Any]:
    """The delivery (or profile read) as it is kept: a version 2 with the body COA signed
    and the marker; any other as it came.

    Raises InvalidSignature (NotPinned among them) when COA's signature does not hold, a
    version 2 comes where no pinned keys are given, or a delivery carries the marker
    itself; PinFileError; TransportError when COA's keys cannot be fetched on first use.
    """
    if MARKER in delivery:
        raise InvalidSignature(
            f"{_named(delivery)} carries {MARKER}, which only this puller's own check writes"
        )
    if "sd_jwt" not in delivery:
        return delivery
    text = delivery["sd_jwt"]
    if pins is None:
        raise InvalidSignature(
            f"{_named(delivery)} is a version-2 profile, and this puller was given no file "
            "of pinned COA keys to verify it against"
        )
    if "body" in delivery or not isinstance(text, str):
        raise InvalidSignature(f"{_named(delivery)}: a version 2 carries COA's SD-JWT only")
    issuer, kid = str(delivery.get("sender")), _kid(delivery, text)
    try:
        keys = pins.keys(client, issuer, kid)
    except NotPinned as error:
        raise NotPinned(f"{_named(delivery)}: {error.detail}") from None
    try:
        checked = sdjwt.verify_delivered(delivery, keys, recipient=client.oin)
    except GatewayError as error:
        raise InvalidSignature(
            f"{_named(delivery)}: COA's signature over the version-2 profile does not hold "
            f"({error.detail}); not kept, not acknowledged"
        ) from None
    marker = {"issuer": checked.issuer, "kid": checked.kid}
    return {**delivery, "body": checked.body, MARKER: marker}


def _kid(delivery: dict[str, Any], text: str) -> str:
    """The kid in the issuer-signed JWT's header: which pinned key to verify with."""
    try:
        return sdjwt.kid_of(text)
    except GatewayError:
        raise InvalidSignature(
            f"{_named(delivery)}: sd_jwt is not COA's SD-JWT (typ {sdjwt.SD_TYP})"
        ) from None


def cut_to(text: str, names: Collection[str]) -> str:
    """A kept SD-JWT with only the disclosures of the body members ``names`` (and those
    nested in them): what a withdrawal leaves. COA's JWT is kept as it is, so what remains
    still verifies. A disclosure that cannot be read goes too: a withdrawal keeps nothing
    it cannot account for."""
    return sdjwt.cut(text, names)
