"""Every page of the auditor's console, in Dutch and in English, in words (#30 item 4).

Each page is read as the auditor sees it (its groups opened, the entries' JSON left
closed: that is the entry as the log holds it) and fails on a tell-tale word of the
other language (a code, an English word on a Dutch page, a Dutch one on an English
page), on a time shown in UTC (``UTC``, a ``Z`` suffix, an ISO timestamp) or a date as
the log spells it (``2026-01-13``), and on a table wider than the page at 1280 px or a
page that scrolls sideways at 390 px. Axe (WCAG 2.1 AA) on each, with screenshots at
1280 and 390 px.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.client.log import EVENTS
from tests.browser import scan
from tests.browser.auditor_pages import World, world
from tests.browser.scan import MONTHS_AND_DAYS, TYPES
from tests.e2e.auditlogs import truncate

ENGLISH = (
    *TYPES, *sorted(EVENTS),
    "delivered", "withheld", "refused", "accepted", "pulled", "scheduled", "attendance",
    "education", "family", "declaration", "withdrawn", "revoked", "signals", "entry",
    "entries", "verified", "truncated", "rewritten", "altered", "missing", "signature",
    "covers", "the", "and", "read", "not-authorised", "certificate-oin", "profile-read",
    "already-acknowledged", "subject-access", "newcomers", "refusals", "usually",
)  # fmt: skip
"""Words that on a Dutch page are the codes or English the catalogue should have said"""
DUTCH = (
    "geleverd", "stuurde", "ingetrokken", "haalde", "weigering", "weigeringen", "verklaring",
    "toestemming", "nieuwkomer", "nieuwkomers", "niet", "bevinding", "bevindingen",
    "gecontroleerd", "geweigerd", "regel", "uur", "het", "een", "van", "gewoonlijk",
    "signalen", "gepland", "opgehaald", *MONTHS_AND_DAYS,
)  # fmt: skip
"""Words that on an English page are Dutch the English words should have said"""
TELLTALE = {"nl": ENGLISH, "en": DUTCH}
OPEN_GROUPS = "() => document.querySelectorAll('details.group').forEach(d => d.open = true)"


@pytest.fixture(scope="module")
def auditor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    found = world(tmp_path_factory.mktemp("auditor-words"))
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def page(context: Any, auditor: World) -> Any:
    opened = context.new_page()
    opened.goto(f"{auditor.url}/?token={auditor.token}")
    return opened


def visit(page: Any, url: str, name: str) -> list[str]:
    """Both languages, the groups opened: the problems found (``tests.browser.scan``)."""
    return scan.visit(page, url, name, TELLTALE, prefix="auditor-words", prepare=OPEN_GROUPS)


def test_every_page_in_words_in_both_languages(page: Any, auditor: World) -> None:
    pages = {
        "log": "/",
        "log-pulls": "/?event=delivery.pulled",
        "log-refusals": "/?outcome=refused",
        "trail": f"/trail?v_number={auditor.v_number}",
        "anomalies": "/anomalies",
    }
    found = [p for name, path in pages.items() for p in visit(page, auditor.url + path, name)]
    assert found == [], "\n".join(found)
    page.goto(f"{auditor.url}/anomalies?lang=en")
    assert page.locator("[data-rule=office-hours]").get_attribute("data-findings") != "0"
    assert page.locator("[data-rule=refusal-spike]").get_attribute("data-findings") == "1"


def test_the_verifiers_finding_in_words(page: Any, auditor: World) -> None:
    """The log truncated below what the console verified: the banner says so in words."""
    with sqlite3.connect(auditor.log.folder / "data" / "auditlog.sqlite3") as db:
        (state,) = db.execute("SELECT value FROM state WHERE name = 'verification'").fetchone()
    truncate(auditor.log, int(json.loads(state)["tree_size"]))
    page.goto(f"{auditor.url}/?lang=en")
    with page.expect_navigation():  # the form posts, the console verifies, the page reloads
        page.locator("form.pull button").click()
    page.wait_for_selector("[data-verified=no]")
    assert page.locator("[data-verified=no]").count() == 1
    assert "truncated" in page.locator("[data-verified=no]").inner_text()
    found = visit(page, auditor.url + "/", "not-verified-log")
    found += visit(page, auditor.url + "/anomalies", "not-verified-anomalies")
    assert found == [], "\n".join(found)
