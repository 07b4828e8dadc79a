"""A console started after the command-line pull still names every newcomer (issue #25).

The operator guide's walkthrough pulls Leiden's inbox into a folder with
``gateway connect municipality pull``, which acknowledges every delivery; the
inbox is one stream, so a console started afterwards has nothing to pull.
It reads the profile of each newcomer placed instead: every name, and the
categories consent released, are shown in Chromium. Once over the demo's
seed (``pull_once`` into a folder) here; after the walkthrough itself in
``test_walkthrough.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
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
from tests.conftest import services_for
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
