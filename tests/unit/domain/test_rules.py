from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.devtools import synthetic
from gateway.domain import assignments, rights
from gateway.domain.message import Message
from gateway.domain.parties import KeyRecord, Party, new_party
from gateway.domain.schemas import Catalog
from gateway.domain.wire import envelope, jwk
from gateway.errors import NotAuthorised, Replay, SchemaViolation, SenderMismatch

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
COA = Party("00000001003214345000", "coa", "COA")
PROVIDER = Party("00000001820029336000", "provider", "P")
LEIDEN = Party("00000001002220647000", "municipality", "Leiden", "GM0546")
UTRECHT = Party("00000001002220650000", "municipality", "Utrecht", "GM0344")
AUDITOR = Party("00000001800866472000", "auditor", "A")


def _message(
    catalog: Catalog, sender: Party, type_: str, body: dict[str, Any], recipient: Party = LEIDEN
) -> Message:
    rng = random.Random(1)
    person = synthetic.Newcomer.make(rng)
    key = jwk.generate()
    payload = synthetic.payload(
        type_, body, sender=sender.oin, recipient=recipient.oin, newcomer=person, issued_at=NOW
    )
    token = envelope.sign(payload, key, typ=envelope.MESSAGE_TYP)
    return Message.from_verified(
        envelope.verify(envelope.parse(token.encode(), typ=envelope.MESSAGE_TYP), key), catalog
    )


def _profile(catalog: Catalog, code: str = "GM0546", recipient: Party = LEIDEN) -> Message:
    rng = random.Random(1)
    return _message(
        catalog,
        COA,
        "handover-profile",
        synthetic.handover_profile(synthetic.Newcomer.make(rng), code, rng),
        recipient,
    )


@pytest.mark.parametrize("sender", [PROVIDER, LEIDEN, AUDITOR])
def test_only_coa_sends_handover_profiles(catalog: Catalog, sender: Party) -> None:
    with pytest.raises(NotAuthorised):
        rights.check_rights(_profile(catalog), sender, LEIDEN)


def test_coa_sends_a_profile_to_a_registered_municipality(catalog: Catalog) -> None:
    rights.check_rights(_profile(catalog), COA, LEIDEN)
    with pytest.raises(NotAuthorised):
        rights.check_rights(_profile(catalog), COA, None)
    with pytest.raises(NotAuthorised):
        rights.check_rights(_profile(catalog), COA, PROVIDER)


def test_progress_report_needs_an_assignment_in_force(catalog: Catalog) -> None:
    report = _message(catalog, PROVIDER, "progress-report", synthetic.progress_report(PROVIDER.oin))
    rights.check_rights(report, PROVIDER, LEIDEN)
    rights.check_assigned([_assignment(PROVIDER.oin)], PROVIDER.oin, NOW)
    with pytest.raises(NotAuthorised):
        rights.check_assigned([], PROVIDER.oin, NOW)
    with pytest.raises(NotAuthorised):
        rights.check_assigned([_assignment("00000001000000000099")], PROVIDER.oin, NOW)


def test_municipality_records_only_for_itself(catalog: Catalog) -> None:
    body = synthetic.provider_assignment(PROVIDER.oin, NOW)
    msg = _message(catalog, LEIDEN, "provider-assignment", body, recipient=UTRECHT)
    with pytest.raises(NotAuthorised):
        rights.check_rights(msg, LEIDEN, UTRECHT)


def test_profile_must_be_placed_in_the_recipient_municipality(catalog: Catalog) -> None:
    rights.check_consistency(_profile(catalog), LEIDEN)
    with pytest.raises(SchemaViolation) as caught:
        rights.check_consistency(_profile(catalog, recipient=UTRECHT), UTRECHT)
    assert caught.value.errors[0]["pointer"] == "/body/placement/municipality_code"


def test_sender_must_own_the_key() -> None:
    rights.check_sender({"sender": COA.oin}, COA.oin)
    for payload in ({"sender": PROVIDER.oin}, {}, {"sender": 1}):
        with pytest.raises(SenderMismatch):
            rights.check_sender(payload, COA.oin)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(0), True),
        (timedelta(seconds=299), True),
        (timedelta(seconds=301), False),
        (-timedelta(days=7) + timedelta(seconds=1), True),
        (-timedelta(days=7, seconds=1), False),
    ],
)
def test_replay_window(offset: timedelta, ok: bool) -> None:
    def check() -> None:
        rights.check_fresh(NOW + offset, NOW, timedelta(days=7), timedelta(seconds=300))

    if ok:
        check()
    else:
        with pytest.raises(Replay):
            check()


def test_key_validity_is_judged_at_receipt_time() -> None:
    key = KeyRecord("k", COA.oin, {}, not_before=NOW, not_after=NOW + timedelta(days=1))
    assert key.is_valid_at(NOW)
    assert not key.is_valid_at(NOW - timedelta(seconds=1))
    assert not key.is_valid_at(NOW + timedelta(days=1))
    revoked = KeyRecord("k", COA.oin, {}, not_before=NOW, revoked_at=NOW + timedelta(hours=1))
    assert revoked.is_valid_at(NOW + timedelta(minutes=59))
    assert not revoked.is_valid_at(NOW + timedelta(hours=1))


def _assignment(
    provider: str, status: str = "active", until: datetime | None = None, aid: str = "a"
) -> assignments.Assignment:
    return assignments.Assignment(aid, LEIDEN.oin, provider, "b1-route", NOW, until, status)


def test_newest_version_of_an_assignment_decides() -> None:
    active, ended = _assignment(PROVIDER.oin), _assignment(PROVIDER.oin, status="ended")
    assert assignments.in_force([active], PROVIDER.oin, NOW)
    assert not assignments.in_force([active, ended], PROVIDER.oin, NOW)
    assert assignments.in_force([ended, active], PROVIDER.oin, NOW)
    moved = _assignment("00000001000000000099")
    assert not assignments.in_force([active, moved], PROVIDER.oin, NOW)


def test_assignment_covers_its_period_only() -> None:
    bounded = _assignment(PROVIDER.oin, until=NOW + timedelta(days=30))
    assert not assignments.in_force([bounded], PROVIDER.oin, NOW - timedelta(seconds=1))
    assert assignments.in_force([bounded], PROVIDER.oin, NOW + timedelta(days=29))
    assert not assignments.in_force([bounded], PROVIDER.oin, NOW + timedelta(days=30))
    assert not assignments.in_force([], PROVIDER.oin, NOW)


@pytest.mark.parametrize(
    ("oin", "role", "code"),
    [
        ("123", "coa", None),
        ("0000000100321434500a", "coa", None),
        ("00000001003214345000", "bank", None),
        ("00000001002220647000", "municipality", None),
        ("00000001002220647000", "municipality", "0546"),
        ("00000001003214345000", "coa", "GM0546"),
    ],
)
def test_bad_parties_are_refused(oin: str, role: str, code: str | None) -> None:
    from gateway.errors import BadRequest

    with pytest.raises(BadRequest):
        new_party(oin, role, "Name", code)


def _declaration(catalog: Catalog, **members: object) -> Message:
    body = synthetic.consent_declaration(LEIDEN.oin, [COA.oin], ["education"], NOW)
    return _message(catalog, LEIDEN, "consent-declaration", {**body, **members})


@pytest.mark.parametrize(
    ("members", "pointer"),
    [
        ({"valid_until": "2031-12-01T00:00:00Z"}, "/body/valid_until"),  # longer than 5 years
        ({"valid_until": "2026-11-23T10:00:00Z"}, "/body/valid_until"),  # ends as it begins
    ],
)
def test_a_consent_the_law_cannot_mean_is_refused_at_its_pointer(
    catalog: Catalog, members: dict[str, object], pointer: str
) -> None:
    rights.check_consistency(_declaration(catalog), LEIDEN)
    with pytest.raises(SchemaViolation) as refused:
        rights.check_consistency(_declaration(catalog, **members), LEIDEN)
    assert [e["pointer"] for e in refused.value.errors] == [pointer]


def test_a_report_period_ends_no_earlier_than_it_begins(catalog: Catalog) -> None:
    body = synthetic.progress_report(PROVIDER.oin)
    body["enrolment"]["period"] = {"from": "2026-11-01", "until": "2026-10-01"}
    with pytest.raises(SchemaViolation) as refused:
        rights.check_consistency(_message(catalog, PROVIDER, "progress-report", body), LEIDEN)
    assert [e["pointer"] for e in refused.value.errors] == ["/body/enrolment/period/until"]


def test_a_koppelingsdatum_after_the_message_is_refused(catalog: Catalog) -> None:
    rng = random.Random(1)
    body = synthetic.handover_profile(synthetic.Newcomer.make(rng), "GM0546", rng)
    body["placement"]["linked_on"] = "2026-11-22"
    rights.check_consistency(_message(catalog, COA, "handover-profile", body), LEIDEN)
    body["placement"]["linked_on"] = "2026-11-24"
    with pytest.raises(SchemaViolation) as refused:
        rights.check_consistency(_message(catalog, COA, "handover-profile", body), LEIDEN)
    assert [e["pointer"] for e in refused.value.errors] == ["/body/placement/linked_on"]
