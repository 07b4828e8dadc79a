"""The auditor's view in Chromium: a Sunday of scheduled pulls is left out of the
out-of-hours rule (and counted), a person's reads at night are found, grouped by
party and day, and every rule says its threshold.

A gateway of its own, its log grown through the gateway's own storage (as the
cast is registered), so every entry is in the signed tree the console verifies:
a municipality console's scheduled pulls on a Sunday night, each one request
(one trace) whose deliveries are marked ``scheduled`` but for a withdrawal
notice pulled with them, and its signals walk (``signals:scheduled``); then,
on a Tuesday night, client managers of Leiden and Utrecht reading dossiers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.auditor.console import grouping
from gateway.devtools import demo
from gateway.devtools.serverproc import free_port
from gateway.domain.audit.events import Event, new_trace_id
from gateway.domain.vocabulary import REGIE, TYPES
from tests.browser.conftest import check_accessible, start_console, stop, wait_for_first_round
from tests.conftest import services_for
from tests.e2e.auditlogs import start_log

SUNDAY = datetime(2026, 1, 11, 3, 0, tzinfo=UTC)  # 04:00 in Amsterdam
TUESDAY_NIGHT = datetime(2026, 1, 13, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
PULLS = 37
"""each four deliveries, three marked and a notice: with the signals walk, 149 reads"""
ROUTINE = PULLS * 4 + 1
LOOKED = {demo.LEIDEN: 12, demo.UTRECHT: 1}
"""more than ``grouping.OPEN``: the groups are shown closed"""


@dataclass
class Auditor:
    url: str
    token: str


def _read(event: str, actor: str, trace: str, reason: str | None, n: int) -> Event:
    return Event(
        event=event,
        actor=actor,
        outcome="ok",
        trace_id=trace,
        processing_activity=REGIE if event == "regie.read" else TYPES["handover-profile"].activity,
        subject=f"{n:064x}",
        type="handover-profile" if event == "delivery.pulled" else None,
        reason=reason,
    )


def _grow(instance: Path) -> None:
    """The Sunday's scheduled pulls, then the Tuesday night's reads by people."""
    services = services_for(instance)
    for n in range(PULLS):
        trace, at = new_trace_id(), SUNDAY + timedelta(minutes=n)
        pulled = [_read("delivery.pulled", demo.LEIDEN, trace, "scheduled", 4 * n + i)
                  for i in range(3)]  # fmt: skip
        notice = _read("delivery.pulled", demo.LEIDEN, trace, None, 4 * n + 3)
        with services.store.write() as tx:
            tx.append([*pulled, notice], at)
    walk = _read("regie.read", demo.LEIDEN, new_trace_id(), "signals:scheduled", 9_000)
    with services.store.write() as tx:
        tx.append([walk], SUNDAY + timedelta(hours=1))
    for party, count in LOOKED.items():
        for n in range(count):
            event = "delivery.pulled" if n == 0 else "regie.read"
            reason = "profile-read" if n == 0 else "signals"
            looked = _read(event, party, new_trace_id(), reason, 10_000 + n)
            with services.store.write() as tx:
                tx.append([looked], TUESDAY_NIGHT + timedelta(minutes=n))


@pytest.fixture(scope="module")
def auditor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Auditor]:
    tmp = tmp_path_factory.mktemp("routine")
    log = start_log(tmp)
    try:
        _grow(log.server.instance)
        port = free_port()
        process, token = start_console(
            log.server.url,
            demo.AUDITOR,
            log.auditor_key(),
            "auditor",
            "console",
            "--data",
            str(tmp / "data"),
            "--port",
            str(port),
            "--interval",
            "3600",
            "--office-hours",
            "08:00-18:00",
        )
        try:
            wait_for_first_round(process, [], prefix="verify:")
            yield Auditor(f"http://127.0.0.1:{port}", token)
        finally:
            stop(process)
    finally:
        log.server.stop()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def _data(locator: Any, name: str) -> list[str]:
    found: list[str] = locator.evaluate_all(f"xs => xs.map(x => x.dataset.{name})")
    return found


def test_routine_pulls_are_left_out_and_a_persons_reads_at_night_grouped(
    page: Any, auditor: Auditor
) -> None:
    page.goto(f"{auditor.url}/?token={auditor.token}")
    page.goto(f"{auditor.url}/anomalies")
    assert page.locator("[data-verified=yes]").count() == 1  # every entry in the signed tree
    rule = page.locator("section[data-rule=office-hours]")
    assert rule.get_attribute("data-findings") == str(sum(LOOKED.values()))
    assert rule.get_attribute("data-routine") == str(ROUTINE)
    left_out = rule.locator("tr[data-day]")
    assert _data(left_out, "actor") == [demo.LEIDEN] and _data(left_out, "day") == ["2026-01-11"]
    assert left_out.locator("td.count").text_content() == str(ROUTINE)
    groups = rule.locator("details[data-count]")
    assert _data(groups, "day") == ["2026-01-13", "2026-01-13"]  # no Sunday group
    assert dict(zip(_data(groups, "actor"), map(int, _data(groups, "count")), strict=True)) == (
        LOOKED
    )
    assert sum(LOOKED.values()) > grouping.OPEN
    first = groups.first
    assert not first.locator("tr[data-finding]").first.is_visible()  # closed until opened
    first.locator("summary").click()
    assert first.locator("tr[data-finding]").count() == LOOKED[demo.LEIDEN]
    assert first.locator("tr[data-finding]").first.is_visible()
    thresholds = page.locator("p[data-threshold]")
    assert _data(thresholds, "threshold") == _data(page.locator("section[data-rule]"), "rule")
    check_accessible(page, "auditor-anomalies-grouped")
    page.set_viewport_size({"width": 390, "height": 844})
    check_accessible(page, "auditor-anomalies-grouped-390")


def test_the_page_says_in_words_what_was_left_out_and_each_threshold(
    page: Any, auditor: Auditor
) -> None:
    """In English: the Dutch words are the catalogue's (checked by the catalogue test)."""
    page.goto(f"{auditor.url}/?token={auditor.token}")
    page.goto(f"{auditor.url}/anomalies?lang=en")
    rule = page.locator("section[data-rule=office-hours]")
    assert f"{ROUTINE} routine reads by scheduled pulls left out." in rule.inner_text()
    assert "outside 08:00 to 18:00, Monday to Friday" in rule.inner_text()
    spike = page.locator("[data-threshold=refusal-spike]").inner_text()
    assert "at least 10 refusals in one hour" in spike
