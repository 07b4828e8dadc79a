"""Regie's signals list as a use case over the fake ports: paging through the
caller's newcomers in placing order, one regie read per newcomer listed, the
forecast and consent cuts as progress makes them, and who may read.

The same reads over HTTP on both backends are in tests/e2e/test_signals_http.py;
progress for one newcomer is in ``test_regie_progress``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.domain.audit.events import format_time
from gateway.domain.parties import Party
from gateway.domain.schemas import Catalog
from gateway.errors import NotAuthorised
from gateway.service import regie
from gateway.service.services import Services
from tests.unit.service.fakes import (
    LEIDEN,
    NOW,
    TRACE,
    UTRECHT,
    V_ANNA,
    V_BORIS,
    V_CELIA,
    fake_store,
    make_services,
    stored,
)
from tests.unit.service.regie_world import (
    DAY,
    as_role,
    codes,
    no_personal_data_recorded,
    recorded,
    reported,
)


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    return make_services(catalog, tmp_path)


# -- the signals list


def _three_at_leiden_one_at_utrecht(services: Services) -> None:
    stored(services, V_ANNA, placement=10, placed_at=NOW - 80 * DAY)
    stored(services, V_BORIS, placement=20, placed_at=NOW - 5 * DAY)
    stored(services, "4444444444", placement=15, placed_with=UTRECHT)
    stored(services, V_CELIA, placement=30, placed_at=NOW - DAY, linked_on=date(2026, 11, 1))


def test_the_signals_list_pages_through_the_callers_newcomers_in_placing_order(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    first = regie.signals_page(services, LEIDEN, 0, 2, NOW, TRACE)
    assert [n["v_number"] for n in first.newcomers] == [V_ANNA, V_BORIS]
    assert first.next_cursor == 20
    second = regie.signals_page(services, LEIDEN, first.next_cursor, 2, NOW, TRACE)
    assert [n["v_number"] for n in second.newcomers] == [V_CELIA]
    assert second.next_cursor == 30
    last = regie.signals_page(services, LEIDEN, second.next_cursor, 2, NOW, TRACE)
    assert (last.newcomers, last.next_cursor) == ([], 30)
    anna, boris = first.newcomers
    assert codes(anna) == ["no-plan"] and codes(boris) == []
    assert anna["placed_at"] == format_time(NOW - 80 * DAY)
    assert second.newcomers[0]["placed_on"] == "2026-11-01"
    assert second.newcomers[0]["placed_on_source"] == "coa"
    assert [asked for asked, _ in fake_store(services).consent.asked] == [LEIDEN.oin] * 2


def test_each_newcomer_listed_is_one_regie_read_and_an_empty_page_none(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    regie.signals_page(services, LEIDEN, 0, 2, NOW, TRACE)
    regie.signals_page(services, LEIDEN, 20, 2, NOW, TRACE)
    regie.signals_page(services, LEIDEN, 30, 2, NOW, TRACE)
    entries = recorded(services)
    assert [(e["event"], e["reason"], e["actor"]) for e in entries] == [
        ("regie.read", "signals", LEIDEN.oin)
    ] * 3
    assert [e["subject"] for e in entries] == [
        services.pseudonym(v) for v in (V_ANNA, V_BORIS, V_CELIA)
    ]
    assert fake_store(services).committed == 2  # one write a page, none for the empty one
    no_personal_data_recorded(services, V_ANNA, V_BORIS, V_CELIA, "4444444444")


def test_a_municipality_with_no_newcomers_gets_an_empty_page_at_its_cursor(
    services: Services,
) -> None:
    _three_at_leiden_one_at_utrecht(services)
    other = Party("00000009990000000009", "municipality", "Gemeente Elders", "GM0999")
    page = regie.signals_page(services, other, 7, 100, NOW, TRACE)
    assert (page.newcomers, page.next_cursor) == ([], 7)
    assert recorded(services) == [] and fake_store(services).consent.asked == []


def test_the_signals_list_forecasts_and_cuts_as_progress_does(services: Services) -> None:
    reported(services, placement=5)
    stored(services, V_BORIS, placement=6, placed_at=NOW - 10 * DAY)
    page = regie.signals_page(services, LEIDEN, 0, 10, NOW, TRACE, at=NOW + 60 * DAY)
    anna, boris = page.newcomers
    assert anna["unknown_signals"] == ["low-attendance", "dropout-risk"]  # no consent
    assert codes(boris) == ["no-plan"]
    one = regie.progress(services, LEIDEN, V_ANNA, NOW, TRACE, at=NOW + 60 * DAY)
    assert {k: anna[k] for k in ("signals", "unknown_signals", "placed_on")} == {
        k: one[k] for k in ("signals", "unknown_signals", "placed_on")
    }


# -- who may read (the policy checks of #27 item 2)


@pytest.mark.parametrize("role", ["provider", "auditor", "coa"])
def test_the_signals_list_refuses_a_role_other_than_municipality(
    services: Services, role: str
) -> None:
    reported(services)
    with pytest.raises(NotAuthorised):
        regie.signals_page(services, as_role(role), 0, 10, NOW, TRACE)
    assert recorded(services) == [] and fake_store(services).progress.calls == []
