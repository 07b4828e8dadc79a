"""The console's store: kept before acknowledged, notices acted on, a re-pull not a change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.consoles import i18n
from connectors.municipality.console import dossier
from connectors.municipality.console.store import Store


def delivery(delivery_id: str, body: dict[str, Any], withheld: list[str]) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "message_id": "m-" + delivery_id,
        "type": "handover-profile",
        "version": 1,
        "sender": "0" * 20,
        "recipient": "1" * 20,
        "subject": {"v_number": "0123456789"},
        "issued_at": "2026-12-01T10:00:00Z",
        "received_at": "2026-12-01T10:00:01.000000Z",
        "body": body,
        "withheld_categories": withheld,
        "delivery_token": "token-" + delivery_id,
    }


IDENTITY = {
    "given_names": "Test",
    "family_name": "Voorbeeld",
    "birth_date": "1990-01-01",
    "v_number": "0123456789",
}
FAMILY = {"members": [{"relation": "child", "birth_year": 2015}]}


def test_a_repull_signed_anew_is_not_a_change_but_more_categories_are(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    first = delivery("d1", {"identity": IDENTITY}, ["family", "health"])
    assert store.keep(first)
    assert not store.keep({**first, "delivery_token": "signed-again"})
    assert store.keep(
        {
            **first,
            "body": {"identity": IDENTITY, "family": FAMILY},
            "withheld_categories": ["health"],
        }
    )
    (kept,) = store.deliveries("0123456789")
    assert kept.document["body"]["family"] == FAMILY
    assert (tmp_path / "c.sqlite3").stat().st_mode & 0o077 == 0


def test_a_notice_removes_what_it_took_back_and_a_later_repull_keeps_that_record(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "c.sqlite3")
    store.keep(delivery("d1", {"identity": IDENTITY, "family": FAMILY}, ["health"]))
    notice = {
        "delivery_id": "n1",
        "message_id": "w1",
        "type": "consent-withdrawn",
        "version": 1,
        "subject": {"v_number": "0123456789"},
        "received_at": "2026-12-02T10:00:00.000000Z",
        "declaration_id": "decl",
        "withdrawn_at": "2026-12-02T09:00:00Z",
        "categories": ["family"],
        "affected_deliveries": ["d1"],
        "delivery_token": "t",
    }
    assert store.keep(notice)
    assert not store.keep(notice)
    kept = store.deliveries("0123456789", "handover-profile")[0].document
    assert "family" not in kept["body"] and "delivery_token" not in kept
    assert kept["withdrawn"][0]["categories"] == ["family"]
    # the held delivery pulled again: the gateway now withholds family; the record stays
    store.keep(delivery("d1", {"identity": IDENTITY}, ["family", "health"]))
    kept = store.deliveries("0123456789", "handover-profile")[0].document
    assert kept["withdrawn"][0]["declaration_id"] == "decl"
    i18n.set_language("nl")
    states = {s.category: s.state for s in dossier.sections(kept)}
    assert states["family"] == "withdrawn" and states["health"] == "withheld"
    assert states["identity"] == "shown" and states["education"] == "absent"


def test_withheld_says_why_and_what_releases_it() -> None:
    i18n.set_language("nl")
    assert "toestemming" in dossier.why_withheld("handover-profile", "family")
    assert "art. 9" in dossier.why_withheld("handover-profile", "health")
    i18n.set_language("en")
    assert dossier.why_withheld("handover-profile", "family").startswith("no consent for family")


def _again(delivery_id: str, body: dict[str, Any], supersedes: list[str]) -> dict[str, Any]:
    """The same message handed out again after a consent: a new delivery id, the same
    message id, ``supersedes`` naming the earlier deliveries."""
    return {**delivery(delivery_id, body, ["health"]), "message_id": "m-d1",
            "supersedes": supersedes}  # fmt: skip


def _notice(notice_id: str, categories: list[str], affected: list[str]) -> dict[str, Any]:
    return {
        "delivery_id": notice_id,
        "message_id": "w-" + notice_id,
        "type": "consent-withdrawn",
        "version": 1,
        "subject": {"v_number": "0123456789"},
        "received_at": "2026-12-03T10:00:00.000000Z",
        "declaration_id": "decl-" + notice_id,
        "withdrawn_at": "2026-12-03T09:00:00Z",
        "categories": categories,
        "affected_deliveries": affected,
        "delivery_token": "t",
    }


def test_a_copy_that_supersedes_takes_the_place_of_the_earlier_ones(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    assert store.keep(delivery("d1", {"identity": IDENTITY}, ["family", "health"]))
    assert store.keep(_again("d2", {"identity": IDENTITY, "family": FAMILY}, ["d1"]))
    (kept,) = store.deliveries("0123456789")
    assert kept.delivery_id == "d2" and kept.document["body"]["family"] == FAMILY
    # the earlier copy pulled again (its acknowledgement lost) changes nothing
    assert not store.keep(delivery("d1", {"identity": IDENTITY}, ["family", "health"]))
    assert [k.delivery_id for k in store.deliveries("0123456789")] == ["d2"]
    i18n.set_language("nl")
    states = {s.category: s.state for s in dossier.sections(kept.document)}
    assert states["family"] == "shown" and states["health"] == "withheld"


def test_a_notice_naming_a_superseded_delivery_reaches_the_copy_in_its_place(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "c.sqlite3")
    store.keep(delivery("d1", {"identity": IDENTITY, "family": FAMILY}, ["health"]))
    store.keep(_notice("n1", ["family"], ["d1"]))  # family withdrawn from d1
    store.keep(_again("d2", {"identity": IDENTITY, "family": FAMILY}, ["d1"]))  # a new consent
    store.keep(_again("d3", {"identity": IDENTITY, "family": FAMILY}, ["d1", "d2"]))
    (kept,) = store.deliveries("0123456789", "handover-profile")
    assert kept.delivery_id == "d3" and kept.document["body"]["family"] == FAMILY
    assert kept.document["withdrawn"][0]["notice"] == "n1"  # the record of the first withdrawal
    assert store.keep(_notice("n2", ["family"], ["d1"]))  # names the first copy only
    (kept,) = store.deliveries("0123456789", "handover-profile")
    assert "family" not in kept.document["body"]
    assert [w["notice"] for w in kept.document["withdrawn"]] == ["n1", "n2"]
