"""Consent declarations and withdrawals recorded at intake, on real SQLite."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain import consent
from gateway.errors import Conflict, GatewayError, SchemaViolation
from gateway.service import intake
from gateway.service.services import Services


@pytest.fixture
def world(services: Services) -> dict[str, Any]:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://unused", now)
    rng = random.Random(31)
    person = synthetic.Newcomer.make(rng)
    # Consent is recorded only for a newcomer placed with the municipality (profile v1.2).
    placing = demo.profile(person, rng, now, recipient=demo.LEIDEN, municipality_code="GM0546")
    token = cast.client(demo.COA).sign(placing)
    intake.accept(token.encode(), services=services, now=now, trace_id="0" * 32)
    return {"cast": cast, "person": person, "now": now}


def _send(services: Services, world: dict[str, Any], type_: str, body: dict[str, Any]) -> int:
    payload = synthetic.payload(
        type_,
        body,
        sender=demo.LEIDEN,
        recipient=demo.LEIDEN,
        newcomer=world["person"],
        issued_at=world["now"],
    )
    token = world["cast"].client(demo.LEIDEN).sign(payload)
    return intake.accept(
        token.encode(), services=services, now=world["now"], trace_id="0" * 32
    ).status


def _events(services: Services, start: int) -> list[tuple[str, str | None]]:
    return [
        (e["entry"]["event"], e["entry"]["reason"])
        for e in storage_of(services).audit.entries(start)
    ]


def _history(services: Services, world: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The consent facts recorded for the world's newcomer at Leiden."""
    subject = services.pseudonym(world["person"].v_number)
    return services.store.consent.histories(demo.LEIDEN, [subject])[subject].facts


def test_declaration_then_withdrawal_are_recorded_and_audited(
    services: Services, world: dict[str, Any]
) -> None:
    now = world["now"]
    body = synthetic.consent_declaration(
        demo.LEIDEN,
        [demo.COA],
        ["education", "health"],
        now - timedelta(hours=1),
        explicit_health=True,
    )
    did = body["declaration_id"]
    start = storage_of(services).count("audit_entries")
    assert _send(services, world, "consent-declaration", body) == 202
    assert _events(services, start) == [
        ("message.accepted", None),
        ("consent.recorded", f"declaration:{did}"),
    ]

    declarations, withdrawals = _history(services, world)
    assert [d.declaration_id for d in declarations] == [did] and withdrawals == []
    ask = consent.Request(
        recipient=demo.LEIDEN, source=demo.COA, type="handover-profile", purpose="pip"
    )
    decision = consent.evaluate(
        "health", ask, now, services.catalog.policy, declarations, withdrawals
    )
    assert decision.deliver and decision.basis == f"consent:{did}"

    start = storage_of(services).count("audit_entries")
    withdrawal = {"declaration_id": did, "withdrawn_at": synthetic.utc(now), "by": "data-subject"}
    assert _send(services, world, "consent-withdrawal", withdrawal) == 202
    assert _events(services, start)[-2:] == [
        ("consent.withdrawn", f"withdrawn:{did}"),
        ("notice.delivered", f"declaration:{did}"),  # Leiden is told
    ]
    declarations, withdrawals = _history(services, world)
    decision = consent.evaluate(
        "health",
        ask,
        now + timedelta(seconds=1),
        services.catalog.policy,
        declarations,
        withdrawals,
    )
    assert not decision.deliver and decision.reason == "withdrawn"


def test_a_declaration_is_never_overwritten_and_a_withdrawal_is_final(
    services: Services, world: dict[str, Any]
) -> None:
    now = world["now"]
    body = synthetic.consent_declaration(
        demo.LEIDEN, [demo.COA], ["family"], now - timedelta(hours=1)
    )
    assert _send(services, world, "consent-declaration", body) == 202
    changed = {**body, "categories": ["family", "education"]}
    with pytest.raises(Conflict):
        _send(services, world, "consent-declaration", changed)
    withdrawal = {
        "declaration_id": body["declaration_id"],
        "withdrawn_at": synthetic.utc(now),
        "by": "recording-party",
    }
    assert _send(services, world, "consent-withdrawal", withdrawal) == 202
    with pytest.raises(Conflict):
        _send(services, world, "consent-withdrawal", {**withdrawal, "by": "data-subject"})


def test_a_withdrawal_must_name_a_declaration_of_this_newcomer(
    services: Services, world: dict[str, Any]
) -> None:
    before = storage_of(services).count("messages")
    with pytest.raises(SchemaViolation) as caught:
        _send(
            services,
            world,
            "consent-withdrawal",
            {
                "declaration_id": "7f0c3a52-0c8b-4a53-9a55-3b1f7f1f9a10",
                "withdrawn_at": synthetic.utc(world["now"]),
            },
        )
    assert caught.value.errors[0]["pointer"] == "/body/declaration_id"
    assert storage_of(services).count("messages") == before  # refused: nothing stored
    store = storage_of(services)
    last = store.audit.entries(store.count("audit_entries") - 1)[0]["entry"]
    assert (last["event"], last["reason"]) == ("message.refused", "schema-violation")


def test_refusals_inside_the_transaction_leave_no_gap(
    services: Services, world: dict[str, Any]
) -> None:
    body = synthetic.consent_declaration(demo.LEIDEN, [demo.COA], ["family"], world["now"])
    _send(services, world, "consent-declaration", body)
    with pytest.raises(GatewayError):
        _send(services, world, "consent-declaration", body | {"purposes": ["pip"]})
    indices = [e["index"] for e in storage_of(services).audit.entries()]
    assert indices == list(range(len(indices)))
