"""A console started after the command-line pull still names every newcomer (issue #25).

The operator guide's walkthrough pulls Leiden's inbox into a folder with
``gateway connect municipality pull``, which acknowledges every delivery; the
inbox is one stream, so a console started afterwards has nothing to pull.
It reads the profile of each newcomer placed instead: every name, and the
categories consent released, are shown in Chromium. Once over the demo's
seed (``pull_once`` into a folder), once after the walkthrough itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.common.inbox import pull_once
from connectors.common.issuers import Pins
from connectors.common.sinks import folder_sink
from gateway.devtools import console_demo
from gateway.devtools.cast import LEIDEN, register_cast
from gateway.devtools.serverproc import ServerProcess, free_port
from tests.browser.conftest import (
    Console,
    check_accessible,
    start_console,
    stop,
    wait_for_first_round,
)
from tests.conftest import Walked, services_for
from tests.helpers import write_keys


@pytest.fixture(scope="module")
def after_a_pull(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Leiden's newcomers pulled into a folder and acknowledged, then the console started."""
    tmp = tmp_path_factory.mktemp("console-after-pull")
    with ServerProcess(tmp / "instance", workers=1, threads=4) as server:
        cast = register_cast(services_for(server.instance), server.url, datetime.now(UTC))
        seeded = console_demo.seed(cast, count=12)
        pins = Pins(tmp / "case-system-issuer-keys.json", tell=lambda _: None)
        pulled = pull_once(cast.client(LEIDEN), folder_sink(tmp / "case-system"), pins=pins)
        assert pulled.acknowledged >= len(seeded.people)
        assert cast.client(LEIDEN).get_json("/v1/inbox")["deliveries"] == []
        keys = write_keys(cast, tmp / "keys")
        port = free_port()
        process, token = start_console(
            server.url, LEIDEN, keys[LEIDEN], "municipality", "console",
            "--data", str(tmp / "data"), "--port", str(port), "--interval", "3600",
        )  # fmt: skip
        output: list[str] = []
        try:
            wait_for_first_round(process, output)
            yield Console(
                f"http://127.0.0.1:{port}", token, process, cast, seeded, tmp / "data", output, keys
            )
        finally:
            stop(process)


def test_every_newcomer_is_named_and_shows_what_consent_released(
    page: Any, after_a_pull: Console
) -> None:
    console = after_a_pull
    page.goto(console.address(f"/?token={console.token}"))
    rows = page.locator("table.list tbody tr")
    assert rows.count() == len(console.seeded.people)
    listed = page.locator("table.list tbody").inner_text()
    assert "(naam niet geleverd)" not in listed
    for person in console.seeded.people:
        assert f"{person.given_names} {person.family_name}" in listed
    check_accessible(page, "newcomers-after-a-pull")

    for person, released in [(console.seeded.with_consent[0], "shown"),
                              (console.seeded.without_consent[0], "withheld")]:  # fmt: skip
        page.goto(console.address(f"/newcomers/{person.v_number}"))
        family = page.locator("#profile [data-category=family]")
        assert family.get_attribute("data-state") == released
        assert page.locator("#profile [data-category=identity]").get_attribute("data-state") == (
            "shown"
        )
    # the version-2 profile, read outside the inbox, verified against COA's key pinned here
    assert console.seeded.signed is not None
    page.goto(console.address(f"/newcomers/{console.seeded.signed.v_number}"))
    assert page.locator("#profile [data-coa-signature]").inner_text() == "ondertekend door COA"


ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "connectors" / "samples"


def test_after_the_readme_walkthrough_the_console_names_everyone_placed(
    page: Any, walked_through: Walked
) -> None:
    tmp_path = walked_through.work
    with open(SAMPLES / "coa-export.csv", newline="", encoding="utf-8") as rows:
        names = {
            row["identity.v_number"]: f"{row['identity.given_names']} {row['identity.family_name']}"
            for row in csv.DictReader(rows)
            if row["placement.municipality_code"] == "GM0546"
        }
    with open(SAMPLES / "assignments.csv", newline="", encoding="utf-8") as rows:
        first = next(csv.DictReader(rows))["v_number"]  # the walkthrough's consent
    with ServerProcess(tmp_path / "instance", workers=1, threads=4) as server:
        port = free_port()
        process, token = start_console(
            server.url, "00000001002220647000", tmp_path / "leiden.jwk", "municipality",
            "console", "--data", str(tmp_path / "console"), "--port", str(port),
            "--interval", "3600",
        )  # fmt: skip
        try:
            wait_for_first_round(process, [])
            page.goto(f"http://127.0.0.1:{port}/?token={token}")
            listed = page.locator("table.list tbody").inner_text()
            assert page.locator("table.list tbody tr").count() == len(names)
            assert "(naam niet geleverd)" not in listed
            assert all(name in listed for name in names.values())
            page.goto(f"http://127.0.0.1:{port}/newcomers/{first}")
            for category, state in [("identity", "shown"), ("education", "shown"),
                                    ("languages", "shown"), ("family", "withheld")]:  # fmt: skip
                found = page.locator(f"#profile [data-category={category}]")
                assert found.get_attribute("data-state") == state, category
        finally:
            stop(process)
