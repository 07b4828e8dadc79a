"""Profiles the inbox never brought here (issue #25): read, kept, replaced, withdrawn from.

A console started after the command-line puller acknowledged every delivery
knows the newcomers from the signals walk only; it reads each one's profile
once, keeps it as a delivery, lets a copy from the inbox take its place, and
applies a withdrawal notice to it though the notice cannot name it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.municipality.console import facts, pulling
from connectors.municipality.console import profiles as profile_reads
from connectors.municipality.console.store import PROFILE_READ, Store
from tests.unit.connectors.console.test_pulling import V_NUMBER, FakeInbox, _client, signed
from tests.unit.connectors.console.test_store import FAMILY, IDENTITY, delivery

PATH = f"/v1/newcomers/{V_NUMBER}/profile"


def read(body: dict[str, Any], withheld: list[str], message_id: str = "m-d1") -> dict[str, Any]:
    """A profile as the read answers it, with a token the fake verifies."""
    shaped = delivery("d1", body, withheld)
    members = {k: v for k, v in shaped.items() if k not in ("delivery_id", "delivery_token")}
    members["message_id"] = message_id
    return {**members, "profile_token": json.dumps(members)}


def notice(affected: list[str], categories: list[str]) -> dict[str, Any]:
    return {
        "delivery_id": "n1",
        "message_id": "w1",
        "type": "consent-withdrawn",
        "version": 1,
        "subject": {"v_number": V_NUMBER},
        "received_at": "2026-12-02T10:00:00.000000Z",
        "declaration_id": "decl",
        "withdrawn_at": "2026-12-02T09:00:00Z",
        "categories": categories,
        "affected_deliveries": affected,
        "delivery_token": "t",
    }


def test_a_newcomer_whose_profile_another_puller_took_is_named_after_one_read(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "c.sqlite3")
    inbox = FakeInbox(profile=read({"identity": IDENTITY}, ["family", "health"]))
    done = pulling.one_round(_client(inbox), store, full=True)
    assert (done.kept, done.profiles, done.problems) == (0, 1, [])
    (person,) = facts.gather(store)
    assert person.name == "Test Voorbeeld"
    for _ in range(3):
        assert pulling.one_round(_client(inbox), store, asked=True).profiles == 0
    assert inbox.asked.count(PATH) == 1  # each read is a line in the access report


def test_a_profile_its_token_does_not_sign_is_not_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    forged = {**read({"identity": IDENTITY}, []), "body": {"identity": IDENTITY, "family": FAMILY}}
    done = pulling.one_round(_client(FakeInbox(profile=forged)), store, full=True)
    assert done.problems and done.problems[0].startswith("invalid-signature")
    assert store.deliveries(V_NUMBER) == []


def test_a_profile_placed_anew_is_read_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    assert store.keep_profile(read({"identity": IDENTITY}, []))
    store.replace_reads("signals", {V_NUMBER: {"placed_at": "2026-12-01T10:00:01.000000Z"}})
    assert profile_reads.missing(store) == []
    store.replace_reads("signals", {V_NUMBER: {"placed_at": "2027-01-05T08:00:00.000000Z"}})
    assert profile_reads.missing(store) == [V_NUMBER]


def test_the_inbox_copy_of_the_same_message_takes_the_reads_place(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    assert store.keep_profile(read({"identity": IDENTITY}, ["family"]))
    assert not store.keep_profile(read({"identity": IDENTITY}, ["family"]))  # kept already
    # a consent given later: the message again, superseding the puller's delivery
    again = {**delivery("d2", {"identity": IDENTITY, "family": FAMILY}, []), "message_id": "m-d1"}
    assert store.keep(signed({**again, "supersedes": ["d1"]}))
    (kept,) = store.deliveries(V_NUMBER)
    assert kept.delivery_id == "d2" and kept.document["body"]["family"] == FAMILY
    assert not store.keep_profile(read({"identity": IDENTITY}, ["family"]))


def test_a_notice_reaches_a_profile_read_it_cannot_name(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    assert store.keep_profile(read({"identity": IDENTITY, "family": FAMILY}, []))
    other = {**delivery("r1", {"enrolment": {}}, []), "type": "progress-report"}
    assert store.keep(other)
    assert store.keep(notice(["the-pullers-delivery"], ["family"]))
    profile = store.deliveries(V_NUMBER, "handover-profile")[0]
    assert profile.delivery_id == f"{PROFILE_READ}m-d1"
    assert "family" not in profile.document["body"] and "profile_token" not in profile.document
    assert profile.document["withdrawn"][0]["categories"] == ["family"]
    assert len(profile.document["profile_token_sha256"]) == 64
    report = store.deliveries(V_NUMBER, "progress-report")[0].document
    assert "withdrawn" not in report and report["delivery_token"] == "token-r1"  # untouched
