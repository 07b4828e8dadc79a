"""Intake as a use case, over in-memory ports: every refusal step, idempotency, group commit.

No database: these run in milliseconds. Each refusal is asserted twice: the
error raised, and its entry in the log (without content).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.devtools import demo
from gateway.domain import duo
from gateway.domain.parties import KeyRecord, Party
from gateway.domain.schemas import Catalog
from gateway.domain.wire import envelope, jwk
from gateway.errors import (
    Conflict,
    GatewayError,
    InvalidSignature,
    KeyNotValid,
    MalformedMessage,
    NotAuthorised,
    Replay,
    SchemaViolation,
    SenderMismatch,
    UnknownKey,
)
from gateway.service import intake, notifications, registry
from tests.unit.world import NOW, TRACE, World, make_world


@pytest.fixture
def world(catalog: Catalog, tmp_path: Path) -> World:
    return make_world(catalog, tmp_path)


def test_an_accepted_message_is_stored_audited_and_receipted(world: World) -> None:
    payload = world.profile()
    outcome = world.accept(payload)
    assert outcome.status == 202
    receipt = envelope.verify(
        envelope.parse(outcome.receipt.encode(), typ=envelope.RECEIPT_TYP),
        jwk.import_jwk(jwk.public_jwk(world.services.signer.key)),
    ).payload
    entry = world.store.state.log[receipt["audit"]["index"]]
    assert (entry.event, entry.actor, entry.message_id) == (
        "message.accepted",
        demo.COA,
        payload["message_id"],
    )
    assert entry.subject == world.services.pseudonym(world.person.v_number)
    assert len(world.store.state.deliveries) == 1  # a profile goes to Leiden's inbox


def test_the_same_bytes_again_get_the_original_receipt_other_bytes_a_conflict(
    world: World,
) -> None:
    payload = world.profile()
    raw = world.sign(payload)
    first = intake.accept(raw, services=world.services, now=NOW, trace_id=TRACE)
    again = intake.accept(raw, services=world.services, now=NOW, trace_id=TRACE)
    assert (again.status, again.receipt) == (200, first.receipt)
    changed = {**payload, "issued_at": "2026-11-23T09:58:00Z"}
    with pytest.raises(Conflict):
        world.accept(changed)
    assert world.refusals()[-1] == ("conflict", demo.COA)
    # An accepted message comes back after the replay window too: idempotency first.
    late = intake.accept(raw, services=world.services, now=NOW + timedelta(days=30), trace_id=TRACE)
    assert late.status == 200


def _foreign_key_message(world: World) -> bytes:
    return envelope.sign(world.profile(), jwk.generate(), typ=envelope.MESSAGE_TYP).encode()


def _signed_by_other(world: World) -> bytes:
    """Header names COA's key, the signature is another key's."""
    good = world.sign(world.profile()).split(b".")
    forged = envelope.sign(world.profile(), jwk.generate(), typ=envelope.MESSAGE_TYP)
    return b".".join([good[0], good[1], forged.encode().split(b".")[2]])


REFUSALS: dict[str, tuple[Callable[[World], bytes], type[GatewayError], str | None]] = {
    "malformed": (lambda w: b"not.a.jws!", MalformedMessage, None),
    "unknown key": (_foreign_key_message, UnknownKey, None),
    "invalid signature": (_signed_by_other, InvalidSignature, None),
    "sender mismatch": (
        lambda w: w.sign({**w.profile(), "sender": demo.PROVIDER}, demo.COA),
        SenderMismatch,
        demo.COA,
    ),
    "schema": (lambda w: w.sign({**w.profile(), "body": {}}), SchemaViolation, demo.COA),
    "replay": (
        lambda w: w.sign(w.profile(issued_at=NOW - timedelta(days=8))),
        Replay,
        demo.COA,
    ),
    "role": (
        lambda w: w.sign({**w.profile(), "sender": demo.LEIDEN}),
        NotAuthorised,
        demo.LEIDEN,
    ),
    "not assigned": (lambda w: w.sign(w.report()), NotAuthorised, demo.PROVIDER),
    "not placed": (lambda w: w.sign(w.assignment()), NotAuthorised, demo.LEIDEN),
    "recipient not a municipality": (
        lambda w: w.sign(w.profile(recipient=demo.PROVIDER)),
        NotAuthorised,
        demo.COA,
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_each_refusal_step_raises_its_error_and_is_audited_without_content(
    world: World, case: str
) -> None:
    make, error, actor = REFUSALS[case]
    raw = make(world)
    with pytest.raises(GatewayError) as raised:
        intake.accept(raw, services=world.services, now=NOW, trace_id=TRACE)
    assert type(raised.value) is error
    refused = [e for e in world.store.state.log if e.event == "message.refused"]
    assert [(e.reason, e.actor) for e in refused] == [(raised.value.code, actor)]
    assert refused[0].categories_delivered == () and refused[0].basis == {}
    assert world.store.state.messages == {}


def test_a_key_outside_its_validity_is_refused_at_our_clock(world: World) -> None:
    key = jwk.generate()
    record = KeyRecord(jwk.thumbprint(key), demo.COA, jwk.public_jwk(key), NOW + timedelta(days=1))
    registry.register_key(world.services, record, NOW, TRACE)
    raw = envelope.sign(world.profile(), key, typ=envelope.MESSAGE_TYP).encode()
    with pytest.raises(KeyNotValid):
        intake.accept(raw, services=world.services, now=NOW, trace_id=TRACE)


def test_a_report_needs_an_assignment_in_force_and_counts_it_under_the_lock(world: World) -> None:
    assert world.accept(world.profile()).status == 202  # places the newcomer with Leiden
    assert world.accept(world.assignment()).status == 202
    assert world.accept(world.report()).status == 202
    ended = world.assignment()
    ended["body"]["status"] = "ended"
    assignment_id = world.store.state.assignments[0][2].assignment_id
    ended["body"]["assignment_id"] = assignment_id
    assert world.accept(ended).status == 202
    with pytest.raises(NotAuthorised):
        world.accept(world.report())


def test_consent_facts_are_checked_under_the_lock(world: World) -> None:
    world.accept(world.profile())
    declared = world.declaration(["health"], explicit_health=True)
    assert world.accept(declared).status == 202
    declaration_id = declared["body"]["declaration_id"]
    again = world.declaration(["health"], explicit_health=True, declaration_id=declaration_id)
    with pytest.raises(Conflict) as exists:
        world.accept(again)
    assert exists.value.reason == "declaration-exists"
    with pytest.raises(SchemaViolation):
        world.accept(world.withdrawal("00000000-0000-4000-8000-000000000000"))
    assert world.accept(world.withdrawal(declared["body"]["declaration_id"])).status == 202
    with pytest.raises(Conflict) as final:
        world.accept(world.withdrawal(declared["body"]["declaration_id"]))
    assert final.value.reason == "withdrawal-final"
    kinds = [e.event for e in world.store.state.log if e.event.startswith("consent.")]
    assert kinds == ["consent.recorded", "consent.withdrawn"]


def test_an_erased_newcomer_is_refused(world: World) -> None:
    world.store.state.erased.add(world.services.pseudonym(world.person.v_number))
    with pytest.raises(Conflict) as raised:
        world.accept(world.profile())
    assert raised.value.reason == "subject-erased"
    assert world.refusals() == [("conflict", demo.COA)]


def test_a_batch_keeps_each_outcome_and_audits_every_refusal(world: World) -> None:
    good, repeat = world.sign(world.profile()), world.sign(world.profile())
    items: list[bytes | GatewayError] = [good, b"garbage", repeat, repeat, MalformedMessage()]
    results = intake.accept_batch(items, services=world.services, now=NOW, trace_id=TRACE)
    assert [getattr(r, "status", None) for r in results] == [202, 400, 202, 200, 400]
    assert [reason for reason, _ in world.refusals()] == ["malformed", "malformed"]


def test_concurrent_requests_share_a_group_and_each_gets_its_own_result(world: World) -> None:
    """Four threads: distinct messages, a repeat and a clash, each answered as alone."""
    same = world.profile()
    raws = [world.sign(world.profile()) for _ in range(4)] + [world.sign(same)] * 2
    clash = world.sign({**same, "issued_at": "2026-11-23T09:57:00Z"})
    results: dict[int, int | str] = {}

    def send(position: int, raw: bytes) -> None:
        try:
            results[position] = intake.accept(
                raw, services=world.services, now=NOW, trace_id=TRACE
            ).status
        except GatewayError as error:
            results[position] = error.code

    threads = [threading.Thread(target=send, args=(i, r)) for i, r in enumerate(raws)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send(len(raws), clash)
    assert [results[i] for i in range(4)] == [202] * 4
    assert sorted([results[4], results[5]]) == [200, 202]  # one stored it, one repeats it
    assert results[6] == "conflict"
    accepted = [e for e in world.store.state.log if e.event == "message.accepted"]
    assert len(accepted) == 5 and len(world.store.state.messages) == 5


def test_hours_are_cumulative_and_never_lowered(world: World) -> None:
    world.accept(world.profile())
    world.accept(world.assignment())

    def report(**hours: int) -> dict[str, object]:
        payload = world.report()
        payload["body"]["hours"] = hours
        return payload

    assert world.accept(report(language_and_knm=40, participation=5)).status == 202
    assert world.accept(report(language_and_knm=60)).status == 202  # one kind is enough
    with pytest.raises(SchemaViolation) as lowered:
        world.accept(report(language_and_knm=50, participation=4, broad_intake=1))
    assert [e["pointer"] for e in lowered.value.errors] == [
        "/body/hours/language_and_knm",
        "/body/hours/participation",
    ]
    assert world.accept(world.report()).status == 202  # a report without hours stays valid


def test_a_notification_from_no_registered_party_is_refused_and_audited(world: World) -> None:
    """The web authenticates DUO's connection first, so only a caller that vanished (or a
    future caller of ``accept_told``) meets this; it must refuse, not store."""
    ghost = Party(oin="00000001899999999999", role="duo", name="not registered")
    addressed = notifications.Addressed(ghost.oin, demo.LEIDEN, str(uuid.UUID(int=34)))
    told = duo.Notification("SS139", NOW - timedelta(days=1), world.person.v_number, None)
    with pytest.raises(NotAuthorised):
        notifications.receive(world.services, ghost, addressed, told, NOW, TRACE)
    assert world.refusals() == [("not-authorised", ghost.oin)]
    assert world.store.state.messages == {}


def test_a_type_that_is_no_string_is_refused_and_audited_not_a_crash(world: World) -> None:
    """Unsigned claims reach the profile gate first: a list as ``type`` raised TypeError
    there (a 500, no refusal in the log, and a whole batch sunk with it)."""
    odd = {**world.profile(), "type": ["handover-profile"]}
    with pytest.raises(GatewayError) as refused:
        world.accept(odd)
    assert type(refused.value) is SchemaViolation
    assert world.refusals() == [("schema-violation", demo.COA)]
    good = world.sign(world.profile())
    results = intake.accept_batch([world.sign(odd), good], services=world.services, now=NOW,
                                  trace_id=TRACE)  # fmt: skip
    assert isinstance(results[0], SchemaViolation)
    assert isinstance(results[1], intake.Outcome) and results[1].status == 202


def test_a_version_written_as_a_float_is_refused(world: World) -> None:
    """JSON Schema's integer admits 1.0; the contract's version does not (a municipality's
    tools read 2.0 as no version they know, and a withdrawal then cut nothing)."""
    with pytest.raises(SchemaViolation) as refused:
        world.accept({**world.profile(), "version": 1.0})
    assert refused.value.errors == [{"pointer": "/version", "keyword": "type"}]
