"""The auditor's console in Chromium: a tampered entry is marked, anomalies are found.

Two gateways of their own: one whose log is altered in its database after
a checkpoint was signed over it (the console must name the altered entry),
one with a burst of refusals and reads (the anomaly views must find them,
and nothing on the clean log).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import free_port
from tests.browser.conftest import (
    check_accessible,
    follow,
    start_console,
    stop,
    wait_for_first_round,
)
from tests.e2e.auditlogs import JOSE, Log, sql, start_log
from tests.helpers import profile_token

TAMPER = (
    "UPDATE audit_entries SET entry = "
    "CAST(replace(CAST(entry AS TEXT), '\"ok\"', '\"OK\"') AS BLOB) WHERE idx = 5"
)


@dataclass
class Auditor:
    url: str
    token: str
    log: Log
    v_numbers: list[str]


def _auditor(log: Log, tmp: Path, *extra: str) -> tuple[Any, Auditor]:
    port = free_port()
    process, token = start_console(
        log.server.url,
        demo.AUDITOR,
        log.auditor_key(),
        "auditor",
        "console",
        "--data",
        str(tmp / f"data-{port}"),
        "--port",
        str(port),
        "--interval",
        "3600",
        *extra,
    )
    wait_for_first_round(process, [], prefix="verify:")
    return process, Auditor(f"http://127.0.0.1:{port}", token, log, [])


def _profiles(log: Log, count: int, seed: int) -> list[str]:
    found = []
    for i in range(count):
        token, person = profile_token(log.cast.client(demo.COA), seed + i)
        answer = requests.post(
            log.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
        )
        assert answer.status_code == 202
        found.append(person.v_number)
    return found


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Auditor]:
    tmp = tmp_path_factory.mktemp("tampered")
    log = start_log(tmp)
    try:
        v_numbers = _profiles(log, 12, 32_000)
        assert log.verify().returncode == 0  # a checkpoint signed over the untouched log
        sql(log.db, TAMPER)
        process, auditor = _auditor(log, tmp)
        auditor.v_numbers = v_numbers
        try:
            yield auditor
        finally:
            stop(process)
    finally:
        log.server.stop()


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Auditor, Auditor]]:
    """A clean log seen twice: before a burst of refusals (and with no office hours set),
    and after it, with office hours that no read can fall in."""
    tmp = tmp_path_factory.mktemp("busy")
    log = start_log(tmp)
    try:
        v_numbers = _profiles(log, 6, 33_000)
        leiden = log.cast.client(demo.LEIDEN)
        for delivery in leiden.get_json("/v1/inbox")["deliveries"]:
            leiden.ack(delivery["delivery_id"])
        clean_process, clean = _auditor(log, tmp)
        rng, coa = random.Random(33_100), log.cast.client(demo.COA)
        for _ in range(12):  # refused, signed: COA may not assign a provider
            person = synthetic.Newcomer.make(rng)
            body = synthetic.provider_assignment(demo.PROVIDER, datetime.now(UTC))
            payload = synthetic.payload(
                "provider-assignment",
                body,
                sender=demo.COA,
                recipient=demo.LEIDEN,
                newcomer=person,
                issued_at=datetime.now(UTC),
            )
            answer = requests.post(
                log.server.url + "/v1/messages", data=coa.sign(payload), headers=JOSE, timeout=10
            )
            assert answer.status_code == 403
        busy_process, seen = _auditor(log, tmp, "--office-hours", "00:00-00:01")
        clean.v_numbers = seen.v_numbers = v_numbers
        try:
            yield clean, seen
        finally:
            stop(clean_process)
            stop(busy_process)
    finally:
        log.server.stop()


@pytest.fixture
def page(context: Any) -> Any:
    """A page of its own (not the municipality console's admitted one)."""
    return context.new_page()


def _open(page: Any, auditor: Auditor, path: str = "/") -> None:
    page.goto(f"{auditor.url}/?token={auditor.token}")
    if path != "/":
        page.goto(auditor.url + path)


def test_the_tampered_entry_is_marked_not_proven_and_the_log_not_verified(
    page: Any, tampered: Auditor
) -> None:
    _open(page, tampered)
    assert page.locator("[data-verified=no]").count() == 1
    rows = page.locator("tr[data-index]")
    marks = dict(
        zip(
            rows.evaluate_all("rs => rs.map(r => r.dataset.index)"),
            rows.evaluate_all("rs => rs.map(r => r.dataset.included)"),
            strict=True,
        )
    )
    assert marks["5"] == "no"
    assert {m for i, m in marks.items() if i != "5" and int(i) < 12} == {"yes"}
    check_accessible(page, "auditor-log-tampered")


def test_the_trail_of_one_newcomer(page: Any, tampered: Auditor) -> None:
    v_number = tampered.v_numbers[-1]
    _open(page, tampered)
    page.locator("#v_number").fill(v_number)
    follow(page, page.get_by_role("button", name="Tonen"))
    follow(page, page.get_by_text("Het hele spoor van deze nieuwkomer"))
    assert page.locator("h1").inner_text() == "Het spoor van één nieuwkomer"
    assert page.locator("tr[data-index]").count() >= 1
    assert v_number not in page.locator("table").inner_text()  # the log holds pseudonyms
    check_accessible(page, "auditor-trail")


def test_the_anomaly_views_find_their_cases_and_nothing_in_a_clean_log(
    page: Any, busy: tuple[Auditor, Auditor]
) -> None:
    clean, seen = busy
    _open(page, clean, "/anomalies")
    counts = dict(
        zip(
            page.locator("[data-rule]").evaluate_all("s => s.map(x => x.dataset.rule)"),
            page.locator("[data-rule]").evaluate_all("s => s.map(x => x.dataset.findings)"),
            strict=True,
        )
    )
    assert counts == {
        "after-withdrawal": "0",
        "refusal-spike": "0",
        "many-reads": "0",
        "checkpoint-gap": "0",
        "office-hours": "0",
    }
    check_accessible(page, "auditor-anomalies-clean")
    _open(page, seen, "/anomalies")
    spike = page.locator("[data-rule=refusal-spike]")
    assert spike.get_attribute("data-findings") == "1"
    assert "12 weigeringen in het uur" in spike.inner_text()
    assert "COA (demo)" in spike.inner_text()
    assert int(str(page.locator("[data-rule=office-hours]").get_attribute("data-findings"))) >= 1
    check_accessible(page, "auditor-anomalies")
