"""The profile of a placed newcomer the inbox never brought here, read from the gateway.

A municipality's inbox is one stream: a profile the case system's puller
(``gateway connect municipality pull``) took and acknowledged never comes to
a console started afterwards, which then knew the newcomer from the signals
walk only, without a name (issue #25). For each newcomer placed whose
placing profile is not kept here, the console reads it
(``GET /v1/newcomers/{v_number}/profile``: cut by consent now, a
``delivery.pulled`` entry in the newcomer's access report, reason
``profile-read``), checks the gateway's signature over it, and keeps it as
a delivery (``Store.keep_profile``). It is read again only when a newer
profile placed the newcomer; a later copy from the inbox takes its place,
and a withdrawal notice about the newcomer reaches it (see ``store``).

A version-2 profile (COA's SD-JWT, issue #32), read or pulled, is verified against
COA's keys pinned in the console's data folder (``pins_of``) and kept with the body COA
signed and the marker that says so (``coasigned``): the dossier shows it signed by COA.
"""

from __future__ import annotations

from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.coasigned import with_coa_body
from connectors.common.issuers import PIN_FILE, Pins
from connectors.municipality.console.facts import PROFILE
from connectors.municipality.console.store import Store
from gateway.client import wire
from gateway.errors import InvalidSignature, NotAuthorised, NotFound

PROFILES_PER_ROUND = 500
"""Profile reads a round makes at most (each a ``delivery.pulled``), so that a console
started beside a puller of a large municipality spreads them over a few rounds"""


def missing(store: Store, v_numbers: list[str] | None = None) -> list[str]:
    """The newcomers placed (by the newest signals walk) whose placing profile is not kept:
    none kept at all, or only one received before they were placed anew."""
    placed = store.reads("signals")
    kept: dict[str, str] = {}
    for one in store.deliveries(type_=PROFILE):
        kept[one.v_number] = max(kept.get(one.v_number, ""), one.received_at)
    wanted = []
    for v_number in v_numbers if v_numbers is not None else list(placed):
        placed_at = placed.get(v_number, ("", {}))[1].get("placed_at")
        newer = bool(placed_at) and v_number in kept
        if v_number not in kept or (
            newer and wire.parse_time(kept[v_number]) < wire.parse_time(str(placed_at))
        ):
            wanted.append(v_number)
    return wanted


def pins_of(store: Store) -> Pins:
    """COA's keys this console pinned: a file beside its store, in its data folder, which
    ``pin-issuer-key --issuer-keys`` adds a new COA key to."""
    return Pins(store.path.with_name(PIN_FILE))


def verified(
    client: GatewayClient, profile: dict[str, Any], pins: Pins | None = None
) -> dict[str, Any]:
    """The profile, once its token is the gateway's signature over exactly its members;
    a version 2's once COA's signature holds too, by a key in ``pins``, with the body COA
    signed and the marker (``coasigned.with_coa_body``).

    Raises InvalidSignature otherwise: nothing unsigned is kept.
    """
    token = profile.get("profile_token")
    if not isinstance(token, str):
        raise InvalidSignature("profile without a profile token")
    signed = client.verify_gateway_token(token, wire.PROFILE_TYP)
    if signed != {k: v for k, v in profile.items() if k != "profile_token"}:
        raise InvalidSignature("profile token does not sign this profile")
    return with_coa_body(client, profile, pins)


def read_profile(
    client: GatewayClient, store: Store, v_number: str, *, scheduled: bool = False
) -> bool:
    """Read one newcomer's profile and keep it; True when it changed what is kept.
    ``scheduled``: the timer's round, which the gateway's audit entry then says.

    False, too, when the newcomer is no longer placed here or was erased since
    the signals walk: nothing to show, and no reason to stop the round.
    """
    try:
        query = {"scheduled": "true"} if scheduled else {}
        profile = client.get_json(f"/v1/newcomers/{v_number}/profile", **query)
    except (NotAuthorised, NotFound):
        return False
    return store.keep_profile(verified(client, profile, pins_of(store)))


def read_missing(
    client: GatewayClient, store: Store, limit: int = PROFILES_PER_ROUND, *, scheduled: bool = False
) -> int:
    """The profiles of the placed newcomers that have none kept (at most ``limit``); how
    many were kept. ``scheduled`` as for ``read_profile``."""
    return sum(read_profile(client, store, v, scheduled=scheduled) for v in missing(store)[:limit])
