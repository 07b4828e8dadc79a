"""A page of an inbox as a pull answers it, and a delivery as the gateway signs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.domain.audit.events import format_time
from gateway.domain.records import Pending
from gateway.domain.wire import envelope
from gateway.service.services import Services


@dataclass(frozen=True)
class Page:
    deliveries: list[dict[str, Any]]
    next_cursor: int


def signed_delivery(
    services: Services, item: Pending, payload: dict[str, Any], content: dict[str, Any]
) -> dict[str, Any]:
    """The envelope members of a delivery and its ``content``, with the gateway's token."""
    delivery = {
        "delivery_id": item.delivery_id,
        "message_id": item.message_id,
        "type": payload["type"],
        "version": payload["version"],
        "sender": payload["sender"],
        "subject": payload["subject"],
        "issued_at": payload["issued_at"],
        "received_at": format_time(item.received_at),
        **content,
    }
    delivery["delivery_token"] = services.sign(delivery, envelope.DELIVERY_TYP)
    return delivery
