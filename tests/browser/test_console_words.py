"""Every page of the municipality's console, in Dutch and in English, in words (#30 item 4).

Vandaag, the newcomers list, a dossier with consent, plan, reports and DUO's facts (its
folded forms opened), the plan's confirmation, a withdrawal's and an assignment's
confirmation (GET: nothing is withdrawn or ended) and the cohort figures, each read as
the client manager sees it; a page fails on the gateway's English (its signal details:
"placed 91 days ago, no plan", "attendance 59%"), a code, Dutch on an English page, a
time in UTC or a date as the contract spells it, a table wider than the page or its card
at 1280 px, a page that scrolls sideways at 390 px (``tests.browser.scan``). Axe (WCAG 2.1
AA) on each, with screenshots (``console-words-*``) at 1280 and 390 px.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.client import wire
from gateway.devtools import synthetic
from gateway.devtools.cast import DUO, LEIDEN
from gateway.devtools.duostandin import notify
from tests.browser import scan
from tests.browser.conftest import Console, check_accessible, follow
from tests.browser.scan import MONTHS_AND_DAYS, TYPES

SIGNALS = ("no-plan", "no-progress", "low-attendance", "behind-plan", "term-ending",
           "dropout-risk")  # fmt: skip
ENGLISH = (
    *TYPES, *SIGNALS,
    "attendance", "placed", "days ago", "no plan", "no progress", "hours expected", "risk",
    "the term ends", "withheld", "delivered", "withdrawn", "consent", "newcomer",
    "newcomers", "signals", "progress", "report", "reports", "received", "since", "until",
    "nothing", "the", "and", "not", "none", "yet", "level", "provider",
)  # fmt: skip
"""Words that on a Dutch page are the gateway's English or a code the catalogue should
have said (none of them in the seed's own free text, which is English on any page)"""
DUTCH = (
    "nieuwkomer", "nieuwkomers", "toestemming", "ingetrokken", "geleverd", "niet", "het",
    "een", "van", "uur", "geen", "sinds", "signalen", "voortgang", "aanwezigheid",
    "aanbieder", "ontvangen", "verstuurd", "ophalen", "nog", "dagen",
    *MONTHS_AND_DAYS,
)  # fmt: skip
"""Words that on an English page are Dutch the English catalogue should have said"""
TELLTALE = {"nl": ENGLISH, "en": DUTCH}
CODES = ("b1-route", "z-route", "brede-intake", "language_levels",
         "data-subject", "recording-party")  # fmt: skip
"""Codes as the contract spells them (matched as spelt: ``B1-route`` is a word)"""
OPEN_FORMS = "() => document.querySelectorAll('details').forEach(d => d.open = true)"


def _duo_speaks(console: Console, v_number: str) -> None:
    """DUO's notifications about the newcomer, and DUO's answers Leiden's connector sent on."""
    now = datetime.now(UTC)
    duo = console.cast.client(DUO)
    assert notify(duo, LEIDEN, v_number, "SS139", now - timedelta(weeks=9)).status_code == 201
    assert notify(duo, LEIDEN, v_number, "SS106", now - timedelta(days=1)).status_code == 201
    day = (now - timedelta(days=30)).date().isoformat()
    facts = {
        "fetched_at": wire.format_time(now),
        "inburgeringstermijn": {"startdatum": (now - timedelta(days=400)).date().isoformat(),
                                "einddatum": (now + timedelta(days=696)).date().isoformat()},
        "leerbaarheidstoets": {"resultaat": "B1-route haalbaar", "behaaldeScore": "61,50",
                               "benodigdeScore": "55,00", "datumAfname": day},
        "examenresultaten": [
            {"examendatum": day, "resultaat": "Geslaagd", "onderdeel": "KNM", "niveau": "A2"},
            {"examendatum": day, "resultaat": "Gezakt", "onderdeel": "LU", "niveau": "B1"},
        ],
    }  # fmt: skip
    person = next(p for p in console.seeded.people if p.v_number == v_number)
    leiden = console.cast.client(LEIDEN)
    payload = synthetic.payload("duo-facts", facts, sender=LEIDEN, recipient=LEIDEN,
                                newcomer=person, issued_at=now)  # fmt: skip
    leiden.submit(leiden.sign(payload))


def _plan_confirmation(page: Any, console: Console, v_number: str) -> list[str]:
    """The plan form sent unchanged as a correction: its confirmation page in both
    languages, then confirmed (so that the dossier shows what was sent, with its receipt)."""
    found = []
    for language in ("nl", "en"):
        page.goto(console.address(f"/newcomers/{v_number}?lang={language}"))
        form = page.locator("#plan-form")
        form.locator("summary").click()
        form.locator("#change_reason").select_option("correctie")
        follow(page, form.locator("button[type=submit]"))
        assert page.locator("[data-confirm=plan]").count() == 1, page.locator("main").inner_text()
        found += [f"plan-confirm ({language}): {p}"
                  for p in scan.problems(page, language, TELLTALE, CODES)]  # fmt: skip
        check_accessible(page, f"console-words-plan-confirm-{language}")
    follow(page, page.locator("[data-confirm=plan] button[value=yes]"))
    assert page.locator(".notice.receipt").count() == 1, page.locator("main").inner_text()
    return found


def test_every_page_in_words_in_both_languages(page: Any, console: Console) -> None:
    person = console.seeded.with_consent[7]  # planned, assigned, reporting; no other test's
    v_number = person.v_number
    _duo_speaks(console, v_number)
    found = _plan_confirmation(page, console, v_number)
    page.goto(console.address(f"/newcomers/{v_number}"))
    declaration = page.locator("#consents tr[data-active=yes]").first.get_attribute(
        "data-declaration"
    )
    assignment = page.locator("[data-assignment]").first.get_attribute("data-assignment")
    assert page.locator("#duo").get_attribute("data-duo-known") == "yes"
    pages = {
        "today": "/today",
        "newcomers": "/",
        "dossier": f"/newcomers/{v_number}",
        "withdraw-confirm": f"/newcomers/{v_number}/withdraw?declaration={declaration}",
        "end-confirm": f"/newcomers/{v_number}/assignments/{assignment}/end",
        "cohort": "/cohort",
    }
    for name, path in pages.items():
        found += scan.visit(page, console.address(path), name, TELLTALE, prefix="console-words",
                            prepare=OPEN_FORMS, codes=CODES)  # fmt: skip
    assert found == [], "\n".join(found)
