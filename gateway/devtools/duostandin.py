"""A stand-in for DUO's notifying side, for the demo and the tests: it posts DUO's
``Notificatie`` to the gateway as DUO's document has it (headers ``bron``, ``doel``,
``berichtId``; the JSON body), over the DUO party's own connection: its client
certificate where the cast has one (Digikoppeling), and a bearer assertion, which
the gateway asks for in keys-only mode.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import requests

from connectors.common.client import GatewayClient
from gateway.client import wire

PATH = "/v1/duo/notificaties"


def notify(
    duo: GatewayClient,
    doel: str,
    v_number: str,
    event: str,
    registered_at: datetime,
    *,
    bsn: str | None = None,
    bericht_id: str | None = None,
) -> requests.Response:
    """Post one notification; the answer as it came (201, or a Foutmelding)."""
    body: dict[str, object] = {
        "registratieDatumTijd": wire.format_time(registered_at),
        "gebeurtenisId": event,
        "vNummer": int(v_number),
    }
    if bsn is not None:
        body["bsn"] = bsn
    headers = {
        "bron": duo.oin,
        "doel": doel,
        "berichtId": bericht_id or str(uuid.uuid4()),
        "Authorization": f"Bearer {duo.assertion()}",
    }
    return duo.session.post(duo.base_url + PATH, json=body, headers=headers, timeout=30)
