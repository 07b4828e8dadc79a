"""The inbox pager every puller shares: page, verify, keep, acknowledge.

Pulling is at least once, and what keeps a delivery sees it once: each
delivery's token is verified against the gateway's published key, and must
sign exactly the delivery it came with, before the sink is handed it; it is
acknowledged only after the sink has kept it. A puller killed between keep
and ack gets the delivery again, and the sink finds it there. The folder
puller (``sinks``), the provider's brief puller and the municipality's
console (its SQLite store) differ only in their sink and in what they note
on the way (``acknowledged``, ``turned``), so they page through this one
loop. A version-2 profile (COA's SD-JWT, issue #32) is verified against COA's
own key too, one the municipality pinned (``pins``, ``coasigned``), and kept
with the body COA signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.common.client import GatewayClient, TransportError
from connectors.common.coasigned import MARKER, with_coa_body
from connectors.common.issuers import Pins
from gateway.client import wire
from gateway.errors import InvalidSignature

DELIVERY_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")

NOTICE = "consent-withdrawn"
"""The type of a withdrawal notice: what it names must be taken back where it was kept"""


@dataclass
class PullResult:
    written: int = 0
    already_there: int = 0
    acknowledged: int = 0
    notices: int = 0
    """withdrawal notices, each acted on in the folder"""
    again: int = 0
    """messages handed out again after a consent (``supersedes``), written over the earlier"""
    withheld: dict[str, int] = field(default_factory=dict)
    """category → how many deliveries had it withheld"""
    coa_signed: int = 0
    """version-2 profiles whose COA signature was verified here, against a pinned key"""


Sink = Callable[[dict[str, Any]], bool]
"""Takes a verified delivery durably; True if new, False if it was there already"""


def _nothing(_: Any) -> None:
    """What a puller notes when it keeps no notes of its own."""


def safe_id(delivery_id: object) -> str:
    """A delivery id fit to be a file name; anything else is the gateway misbehaving."""
    if (
        not isinstance(delivery_id, str)
        or not 0 < len(delivery_id) <= 100
        or not set(delivery_id) <= DELIVERY_ID_CHARS
    ):
        raise TransportError("delivery id is not a plain identifier")
    return delivery_id


def verified(
    client: GatewayClient, delivery: dict[str, Any], pins: Pins | None = None
) -> dict[str, Any]:
    """The delivery, once its token is the gateway's signature over exactly its members;
    a version-2 profile's once COA's signature holds too, by a key in ``pins``, with the
    body COA signed and the marker that says so (``coasigned.with_coa_body``).

    Raises InvalidSignature otherwise (also for a version 2 without ``pins``).
    """
    token = delivery.get("delivery_token")
    if not isinstance(token, str):
        raise InvalidSignature("delivery without a delivery token")
    signed = client.verify_gateway_token(token, wire.DELIVERY_TYP)
    members = {k: v for k, v in delivery.items() if k != "delivery_token"}
    if signed != members:
        raise InvalidSignature("delivery token does not sign this delivery")
    return with_coa_body(client, delivery, pins)


def pull_once(
    client: GatewayClient,
    sink: Sink,
    *,
    after: int = 0,
    limit: int = 100,
    lease: int = 0,
    acknowledged: Callable[[str], None] = _nothing,
    turned: Callable[[int], None] = _nothing,
    scheduled: bool = False,
    pins: Pins | None = None,
) -> PullResult:
    """Take every unacknowledged delivery in the inbox after cursor ``after``, page by page.

    With ``lease`` (seconds) each page is leased to this puller, so several
    pullers of one municipality can run side by side without taking one
    delivery twice; one that dies gets its page back after the lease.
    ``acknowledged`` hears each delivery id once the gateway took its ack, and
    ``turned`` each next page's cursor, so a puller that remembers where it was
    (the console) asks only for what is newer next time. ``scheduled``: a tool's
    routine run (``--follow``, cron, the console's timer), which the gateway's audit
    entries then say, so an auditor tells it from a person's look. ``pins``: COA's keys
    this municipality pinned, which a version-2 profile must verify against (none: one
    is refused).
    """
    result = PullResult()
    while True:
        params = {"after": after, "limit": limit, **({"lease": lease} if lease else {}),
                  **({"scheduled": "true"} if scheduled else {})}  # fmt: skip
        page = client.get_json("/v1/inbox", **params)
        deliveries = page.get("deliveries")
        if not isinstance(deliveries, list):
            raise TransportError("inbox response without deliveries")
        for delivery in deliveries:
            _take(client, sink, delivery, result, pins)
            acknowledged(str(delivery["delivery_id"]))
        if not deliveries:
            return result
        after = page["next_cursor"]
        turned(after)


def _take(
    client: GatewayClient,
    sink: Sink,
    delivery: dict[str, Any],
    result: PullResult,
    pins: Pins | None = None,
) -> None:
    """One delivery verified, kept, acknowledged, and counted."""
    kept = verified(client, delivery, pins)
    if sink(kept):
        result.written += 1
    else:
        result.already_there += 1
    client.ack(safe_id(delivery["delivery_id"]))
    result.acknowledged += 1
    result.notices += delivery.get("type") == NOTICE
    result.again += bool(delivery.get("supersedes"))
    result.coa_signed += MARKER in kept
    for category in delivery.get("withheld_categories", []):
        result.withheld[category] = result.withheld.get(category, 0) + 1


def follow(
    client: GatewayClient,
    sink: Sink,
    *,
    interval: float,
    rounds: int | None = None,
    report: Callable[[PullResult], None] = lambda _: None,
    unreachable: Callable[[str], None] = lambda _: None,
    lease: int = 0,
    pins: Pins | None = None,
) -> None:
    """Pull every ``interval`` seconds (``rounds`` times, or until stopped).

    A gateway that is away for a while is waited for, not given up on: the
    next round tries again. Errors of the case system or a bad signature stop.
    """
    done = 0
    while rounds is None or done < rounds:
        try:
            report(pull_once(client, sink, lease=lease, scheduled=True, pins=pins))
        except TransportError as error:
            unreachable(error.detail)  # gateway away; try again next round
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)
