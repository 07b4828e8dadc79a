"""The newcomers list's filters and orders: mine, signal, route, provider, manager, due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.municipality.console.caseload import NOBODY, Entry, Filters, entries, select
from connectors.municipality.console.facts import Newcomer

A, B = "user-a", "user-b"
PROVIDER = "00000001003214345000"


def _people() -> list[Entry]:
    people = [
        Newcomer("0000000001", datetime(2026, 3, 1, tzinfo=UTC), name="Zainab Ahmadi",
                 route="b1-route", provider=PROVIDER, signals=["no-progress"]),
        Newcomer("0000000002", datetime(2026, 1, 1, tzinfo=UTC), name="Amanuel Tesfay",
                 signals=["no-plan"]),
        Newcomer("0000000003", datetime(2026, 2, 1, tzinfo=UTC), name="Mariam Haddad",
                 route="z-route"),
    ]  # fmt: skip
    walk: dict[str, tuple[str, dict[str, Any]]] = {
        "0000000001": ("", {"due_dates": [{"code": "no-progress", "due": "2026-05-01T00:00:00Z"},
                                          {"code": "term-ending", "due": "2026-04-01T00:00:00Z"}]}),
        "0000000002": ("", {"due_dates": [{"code": "no-plan", "due": "2026-04-15T00:00:00Z"}]}),
    }  # fmt: skip
    return entries(people, walk, {"0000000001": A, "0000000002": B}, {A: "M. de Vries"})


def _numbers(found: list[Entry]) -> list[str]:
    return [e.person.v_number for e in found]


def test_mine_is_my_caseload_and_all_is_everyone() -> None:
    found = _people()
    assert _numbers(select(found, Filters(view="mine"), A)) == ["0000000001"]
    assert _numbers(select(found, Filters(view="mine"), B)) == ["0000000002"]
    assert len(select(found, Filters(view="all"), A)) == 3
    assert len(select(found, Filters(view="mine"), None)) == 3  # no accounts: everyone's


def test_the_next_due_date_is_the_earliest_of_the_gateways() -> None:
    first = next(e for e in _people() if e.person.v_number == "0000000001")
    assert first.next_due == datetime(2026, 4, 1, tzinfo=UTC)
    assert first.manager == "M. de Vries"


def test_filters_by_signal_route_provider_and_manager() -> None:
    found = _people()
    assert _numbers(select(found, Filters(signal="no-plan"), A)) == ["0000000002"]
    assert _numbers(select(found, Filters(route="z-route"), A)) == ["0000000003"]
    assert _numbers(select(found, Filters(route=NOBODY), A)) == ["0000000002"]
    assert _numbers(select(found, Filters(provider=PROVIDER), A)) == ["0000000001"]
    assert _numbers(select(found, Filters(manager=NOBODY), A)) == ["0000000003"]
    assert _numbers(select(found, Filters(manager=B, q="amanuel"), A)) == ["0000000002"]


def test_sorted_by_placement_next_due_or_name() -> None:
    found = _people()
    assert _numbers(select(found, Filters(sort="placed"), A)) == [
        "0000000002", "0000000003", "0000000001"]  # fmt: skip
    assert _numbers(select(found, Filters(sort="due"), A)) == [
        "0000000001", "0000000002", "0000000003"]  # fmt: skip
    assert _numbers(select(found, Filters(sort="name"), A)) == [
        "0000000002", "0000000003", "0000000001"]  # fmt: skip


def test_the_address_is_read_with_only_offered_values() -> None:
    read = Filters.read({"view": "everyone", "sort": "shoe size", "route": "x", "q": " a "}, "mine")
    assert (read.view, read.sort, read.route, read.q) == ("mine", "placed", "", "a")
    assert Filters(view="mine", sort="due").query(sort="name") == "view=mine&sort=name"
