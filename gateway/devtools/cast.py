"""The demo's synthetic parties: OINs, names, codes, and a fresh key each.

Used by the demo, the end-to-end tests and the benchmarks alike.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.tls import Tls
from gateway.devtools import synthetic
from gateway.domain.audit import events
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.wire import jwk
from gateway.service import registry
from gateway.service.services import Services

COA = "00000001003214345000"
PROVIDER = "00000001820029336000"
LEIDEN = "00000001002220647000"
UTRECHT = "00000001002220650000"
AUDITOR = "00000001800866472000"
DUO = "00000001800000000000"
"""a synthetic OIN for the demo's DUO stand-in"""


@dataclass
class Cast:
    """The synthetic parties, each with a client holding its own fresh key."""

    url: str
    clients: dict[str, GatewayClient] = field(default_factory=dict)
    keys: dict[str, jwk.Key] = field(default_factory=dict)
    tls: dict[str, Tls] = field(default_factory=dict)
    """each party's TLS client certificate (``gateway demo --digikoppeling``), if any"""

    def client(self, oin: str) -> GatewayClient:
        return self.clients[oin]


PARTIES = [
    (COA, "coa", "COA (demo)", None),
    (PROVIDER, "provider", "Taalschool Voorbeeld (demo)", None),
    (LEIDEN, "municipality", "Gemeente Leiden (demo)", "GM0546"),
    (UTRECHT, "municipality", "Gemeente Utrecht (demo)", "GM0344"),
    (AUDITOR, "auditor", "Auditdienst (demo)", None),
    (DUO, "duo", "DUO (demo stand-in)", None),
]


def register_cast(
    services: Services, url: str, now: datetime, tls: dict[str, Tls] | None = None
) -> Cast:
    """Register the demo parties, each with a new Ed25519 key (P-256 for the provider);
    with ``tls``, each connects with its certificate (Digikoppeling)."""
    cast = Cast(url=url, tls=tls or {})
    for oin, role, name, code in PARTIES:
        party = new_party(oin, role, name, code)
        registry.register_party(services, party, now, events.new_trace_id())
        key = jwk.generate("P-256" if role == "provider" else "Ed25519")
        registry.register_key(
            services,
            KeyRecord(
                kid=jwk.thumbprint(key),
                oin=oin,
                jwk=jwk.public_jwk(key),
                not_before=now - timedelta(minutes=1),
            ),
            now,
            events.new_trace_id(),
        )
        cast.keys[oin] = key
        cast.clients[oin] = GatewayClient(url, oin, key, retries=2, tls=cast.tls.get(oin))
    return cast


def profile(
    person: synthetic.Newcomer,
    rng: random.Random,
    issued_at: datetime,
    *,
    recipient: str = LEIDEN,
    municipality_code: str = "GM0546",
) -> dict[str, Any]:
    """The payload of a full handover profile of ``person`` from the demo COA."""
    return synthetic.payload(
        "handover-profile",
        synthetic.handover_profile(person, municipality_code, rng),
        sender=COA,
        recipient=recipient,
        newcomer=person,
        issued_at=issued_at,
    )


def trajectory(
    rng: random.Random,
    person: synthetic.Newcomer,
    at: datetime,
    reports: int,
    *,
    consent: bool,
) -> list[tuple[str, dict[str, Any]]]:
    """Leiden's assignment, plan and (with ``consent``) a declaration for attendance and
    signals, then the provider's ``reports`` with rising hours: (sender, payload) each.

    For the regie benchmarks and tests; the newcomer must be placed with Leiden first.
    """

    def message(type_: str, body: dict[str, Any], sender: str) -> tuple[str, dict[str, Any]]:
        return sender, synthetic.payload(
            type_, body, sender=sender, recipient=LEIDEN, newcomer=person, issued_at=at
        )

    found = [message("provider-assignment", synthetic.provider_assignment(PROVIDER, at), LEIDEN)]
    dated = (at - timedelta(days=rng.randrange(0, 300))).date().isoformat()
    plan = synthetic.integration_plan(str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                      1, dated=dated)  # fmt: skip
    found.append(message("integration-plan", plan, LEIDEN))
    if consent:
        declaration = synthetic.consent_declaration(
            LEIDEN, [PROVIDER], ["attendance", "signals"], at - timedelta(hours=1),
            purposes=("voortgang",), days=1000,
        )  # fmt: skip
        found.append(message("consent-declaration", declaration, LEIDEN))
    hours = 0
    for _ in range(reports):
        hours += rng.randrange(0, 40)
        body = synthetic.progress_report(PROVIDER)
        planned = rng.randrange(20, 60)
        attended = rng.randrange(planned // 2, planned + 1)
        body["attendance"] = {"hours_planned": planned, "hours_attended": attended}
        body["signals"]["dropout_risk"] = rng.choice(["low", "low", "medium", "high"])
        body["hours"] = {"language_and_knm": hours}
        found.append(message("progress-report", body, PROVIDER))
    return found


KEY_NAMES = {COA: "coa", PROVIDER: "provider", LEIDEN: "leiden", UTRECHT: "utrecht",
             AUDITOR: "auditor", DUO: "duo"}  # fmt: skip
"""each party's file name: its key (``keep_keys``), its certificate (``--digikoppeling``)"""


def keep_keys(cast: Cast, keys: Path) -> None:
    """Each party's private JWK in ``keys/<name>.jwk`` (mode 0600), to carry on after."""
    from gateway.domain.wire import jwk
    from gateway.instance import write_private

    keys.mkdir(mode=0o700)
    for oin, key in cast.keys.items():
        write_private(keys / f"{KEY_NAMES[oin]}.jwk", json.dumps(jwk.private_jwk(key)).encode())
