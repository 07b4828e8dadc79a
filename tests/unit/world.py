"""A gateway's services over the in-memory fakes, with the demo's parties registered."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.bootstrap import build_services
from gateway.config import Settings
from gateway.devtools import demo, synthetic
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.schemas import Catalog
from gateway.domain.wire import envelope, jwk
from gateway.service import intake, registry
from gateway.service.services import Services
from tests.unit.fakes import FakeStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TRACE = "7" * 32


@dataclass
class World:
    services: Services
    store: FakeStore
    keys: dict[str, jwk.Key]
    person: synthetic.Newcomer
    rng: random.Random = field(default_factory=lambda: random.Random(3))

    def sign(self, payload: dict[str, Any], oin: str | None = None) -> bytes:
        key = self.keys[oin or payload["sender"]]
        return envelope.sign(payload, key, typ=envelope.MESSAGE_TYP).encode()

    def payload(self, type_: str, body: dict[str, Any], sender: str, **kw: Any) -> dict[str, Any]:
        return synthetic.payload(
            type_,
            body,
            sender=sender,
            recipient=kw.pop("recipient", demo.LEIDEN),
            newcomer=kw.pop("newcomer", self.person),
            issued_at=kw.pop("issued_at", NOW - timedelta(minutes=1)),
            **kw,
        )

    def profile(self, municipality_code: str = "GM0546", **kw: Any) -> dict[str, Any]:
        body = synthetic.handover_profile(self.person, municipality_code, self.rng)
        return self.payload("handover-profile", body, demo.COA, **kw)

    def report(self, **kw: Any) -> dict[str, Any]:
        return self.payload(
            "progress-report", synthetic.progress_report(demo.PROVIDER), demo.PROVIDER, **kw
        )

    def assignment(self, **kw: Any) -> dict[str, Any]:
        body = synthetic.provider_assignment(demo.PROVIDER, NOW - timedelta(days=1), **kw)
        return self.payload("provider-assignment", body, demo.LEIDEN)

    def declaration(self, categories: list[str], **kw: Any) -> dict[str, Any]:
        body = synthetic.consent_declaration(
            demo.LEIDEN, [demo.COA, demo.PROVIDER], categories, NOW - timedelta(days=1), **kw
        )
        return self.payload("consent-declaration", body, demo.LEIDEN)

    def plan(self, version: int = 1, plan_id: str | None = None, **members: Any) -> dict[str, Any]:
        plan_id = plan_id or "5f1c0f0e-8a44-4f9e-9a40-3b0e6f8f1a01"
        body = synthetic.integration_plan(plan_id, version, **members)
        return self.payload("integration-plan", body, demo.LEIDEN)

    def withdrawal(self, declaration_id: str, at: datetime = NOW) -> dict[str, Any]:
        body = {"declaration_id": declaration_id, "withdrawn_at": synthetic.utc(at)}
        return self.payload("consent-withdrawal", body, demo.LEIDEN)

    def accept(self, payload: dict[str, Any], now: datetime = NOW) -> intake.Outcome:
        return intake.accept(self.sign(payload), services=self.services, now=now, trace_id=TRACE)

    def refusals(self) -> list[tuple[str | None, str | None]]:
        """(reason, actor) of every refusal in the log."""
        log = self.store.state.log
        return [(e.reason, e.actor) for e in log if e.event == "message.refused"]


def make_world(catalog: Catalog | None = None, tmp: Path | None = None) -> World:
    """The services as ``build_services`` makes them, over a new ``FakeStore``.

    ``tmp`` is the instance folder the gateway's own keys are made in (a new
    temporary one by default); ``catalog`` the schemas and policy, read once a
    session by the ``catalog`` fixture (read again by default).
    """
    store = FakeStore()
    instance = tmp or Path(tempfile.mkdtemp(prefix="world-"))
    services = build_services(
        Settings(instance=instance, database_url="fake://"),
        store_factory=lambda _settings, _vault: store,
        catalog=catalog,
    )
    keys = {}
    for oin, role, name, code in demo.PARTIES:
        registry.register_party(services, new_party(oin, role, name, code), NOW, TRACE)
        keys[oin] = key = jwk.generate("Ed25519")
        record = KeyRecord(jwk.thumbprint(key), oin, jwk.public_jwk(key), NOW - timedelta(days=1))
        registry.register_key(services, record, NOW, TRACE)
    return World(services, store, keys, synthetic.Newcomer.make(random.Random(5)))
