"""DUO's notifications taken in: DUO's Notificatie API, served for the municipalities.

DUO posts a ``Notificatie`` (an event's code, when DUO registered it, the
newcomer) with the headers ``bron`` (DUO), ``doel`` (the municipality) and
``berichtId``. DUO signs no JWS: it is known by its connection (its PKIoverheid
certificate over Digikoppeling; a bearer assertion in keys-only mode), and
``bron`` must be that party. The gateway writes what DUO said down as a
message of type ``duo-notification`` (DUO's ``berichtId`` its id, DUO its
sender, the municipality its recipient), signed with the gateway's own key so
that it is stored, sealed, audited, logged (LDV) and delivered like every
message, and its handler takes its effect (``handlers.duo_notification``).
The same ``berichtId`` again is answered as the first time and not entered
twice. Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from gateway.domain import duo, policy
from gateway.domain.audit.events import format_time
from gateway.domain.message import Message
from gateway.domain.parties import Party
from gateway.domain.vocabulary import DUO_NOTIFICATION, VERSION_HEADER
from gateway.domain.wire import envelope
from gateway.errors import BadRequest, NotAuthorised
from gateway.service import intake
from gateway.service.services import Services

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

API_VERSION = "1.8.0"
"""the version of DUO's Notificatie API served (API/Notificatie/openapi.yml at f4973d4),
in every answer's ``API-Version`` there (``VERSION_HEADER``)"""
__all__ = ["API_VERSION", "VERSION_HEADER", "Addressed", "check_headers", "receive"]


@dataclass(frozen=True, slots=True)
class Addressed:
    """DUO's headers: who sends (``bron``), for whom (``doel``), which message."""

    bron: str
    doel: str
    bericht_id: str


def receive(
    services: Services,
    caller: Party,
    addressed: Addressed,
    told: duo.Notification,
    now: datetime,
    trace_id: str,
) -> bool:
    """Take DUO's notification in; True when it is new, False when its ``berichtId`` was
    taken before (answered as the first time, entered once).

    Raises NotAuthorised when the caller may not notify or ``bron`` is not the
    caller, and the GatewayError of intake's step that refuses it.
    """
    policy.require(caller.role, policy.send(DUO_NOTIFICATION))
    if addressed.bron != caller.oin:
        raise NotAuthorised("bron is niet de organisatie van deze verbinding")
    message = _message(services, addressed, told)
    return intake.accept_told(message, services=services, now=now, trace_id=trace_id).status == 202


def _message(services: Services, addressed: Addressed, told: duo.Notification) -> Message:
    """The notification as a message of the gateway's: DUO's words in the body."""
    registered = format_time(told.registered_at)
    body = {"gebeurtenisId": told.event, "registratieDatumTijd": registered}
    subject = {"v_number": told.v_number} | ({"bsn": told.bsn} if told.bsn else {})
    payload = {
        "message_id": addressed.bericht_id,
        "type": DUO_NOTIFICATION,
        "version": 1,
        "sender": addressed.bron,
        "recipient": addressed.doel,
        "subject": subject,
        "issued_at": registered,
        "body": body,
    }
    catalog = services.catalog
    catalog.check_envelope(payload)
    schema = catalog.check_body(DUO_NOTIFICATION, 1, body)
    raw = services.sign(payload, envelope.MESSAGE_TYP).encode("ascii")
    return Message(
        message_id=addressed.bericht_id,
        type=DUO_NOTIFICATION,
        version=1,
        sender=addressed.bron,
        recipient=addressed.doel,
        v_number=told.v_number,
        bsn=told.bsn,
        issued_at=told.registered_at,
        body=body,
        raw=raw,
        kid=envelope.parse(raw, typ=envelope.MESSAGE_TYP).header.kid,
        schema=schema,
    )


def check_headers(bron: str | None, doel: str | None, bericht_id: str | None) -> Addressed:
    """DUO's three headers, as its document has them (``Bron``, ``Doel``: 20 characters,
    an OIN; ``berichtId``: a UUID). Raises BadRequest naming the header."""
    for name, value in (("bron", bron), ("doel", doel)):
        if value is None or len(value) != 20 or not value.isascii() or not value.isdigit():
            raise BadRequest(f"header {name} moet een OIN zijn (20 cijfers)")
    if bericht_id is None or not _UUID.fullmatch(bericht_id):
        raise BadRequest("header berichtId moet een UUID zijn")
    assert bron is not None and doel is not None
    return Addressed(bron, doel, bericht_id.lower())
