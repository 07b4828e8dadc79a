"""A page of an inbox as a pull answers it, and a delivery as the gateway signs it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.domain import consent
from gateway.domain.audit.events import format_time
from gateway.domain.minimise import Minimised, minimise
from gateway.domain.parties import Party
from gateway.domain.records import Pending
from gateway.domain.vocabulary import TYPES
from gateway.domain.wire import envelope, sdprofile
from gateway.service.services import Services


@dataclass(frozen=True)
class Page:
    deliveries: list[dict[str, Any]]
    next_cursor: int


def waiting(
    services: Services, party: Party, after: int, limit: int, now: datetime, lease: timedelta
) -> tuple[int, list[tuple[Pending, dict[str, Any], bytes]]]:
    """The next cursor, and each pending delivery with its message's payload and bytes.

    One query for the page, one for its bodies; a delivery whose newcomer
    was erased since is left out. The payloads were parsed strictly and
    verified at intake; these are the gateway's own copies.
    """
    pending = services.store.inbox.pending(party.oin, after, limit, now, lease)
    raws = services.store.inbox.read_messages([item.message_id for item in pending])
    found = [
        (item, payload_of(raw), raw)
        for item in pending
        if (raw := raws.get(item.message_id)) is not None
    ]
    return (pending[-1].cursor if pending else after), found


def cut_body(
    services: Services,
    recipient: str,
    payload: dict[str, Any],
    declarations: Sequence[consent.Declaration],
    withdrawals: Sequence[consent.Withdrawal],
    now: datetime,
) -> Minimised:
    """The body cut to the categories a legal basis or consent in force allows ``now``."""
    kind = TYPES[payload["type"]]
    assert kind.purpose is not None  # only delivered types are in an inbox
    ask = consent.Request(
        recipient=recipient, source=payload["sender"], type=kind.name, purpose=kind.purpose
    )
    decide = functools.partial(
        consent.evaluate,
        request=ask,
        now=now,
        policy=services.catalog.policy,
        declarations=declarations,
        withdrawals=withdrawals,
    )
    schema = services.catalog.bodies[(kind.name, payload["version"])]
    return minimise(payload["body"], schema.categories, decide)


def payload_of(raw: bytes) -> dict[str, Any]:
    """The payload of a stored message (the gateway's own copy, verified at intake); of a
    version-2 profile, the envelope members and the body its disclosures reveal."""
    return sdprofile.payload_of(raw)


def given(raw: bytes, cut: Minimised) -> dict[str, Any]:
    """What a delivery carries of a message: the body cut to what may leave, or of a
    version-2 profile COA's own SD-JWT with exactly the disclosures of the categories that
    may (the gateway forwards, it does not rewrite); and the categories withheld."""
    if sdprofile.is_sd(raw):
        selected = sdprofile.stored(raw).select(cut.delivered)
        return {"sd_jwt": selected, "withheld_categories": list(cut.withheld)}
    return {"body": cut.body, "withheld_categories": list(cut.withheld)}


def signed_delivery(
    services: Services,
    item: Pending,
    payload: dict[str, Any],
    content: dict[str, Any],
    trace_id: str,
) -> dict[str, Any]:
    """The envelope members of a delivery and its ``content``, with the gateway's token.

    ``trace_id`` is the pull's (its ``Fsc-Transaction-Id`` without hyphens when the
    puller sent one): signed with the rest, it ties the copy a recipient keeps to
    the pull's audit entry and LDV record (FSC logging: every hop records the
    transaction). It differs between two pulls of the same delivery.
    """
    delivery = {
        "delivery_id": item.delivery_id,
        "message_id": item.message_id,
        "type": payload["type"],
        "version": payload["version"],
        "sender": payload["sender"],
        "subject": payload["subject"],
        "issued_at": payload["issued_at"],
        "received_at": format_time(item.received_at),
        "trace_id": trace_id,
        **content,
    }
    if item.supersedes:  # consent given later: this hands out the same message again
        delivery["supersedes"] = list(item.supersedes)
    delivery["delivery_token"] = services.sign(delivery, envelope.DELIVERY_TYP)
    return delivery
