"""Actions a person can trust (issue #30, item 3), in Chromium through the real console.

A withdrawal asks first, on a page that says what will happen, to whom and
by whom; leaving that page, or a POST without its confirm field, changes
nothing at the gateway. After confirming, the status column says since when
the consent was active, when it was withdrawn, by whom and at whose request.
A refused first plan (A2 on the B1 route) keeps every value entered and says
DUO's rule in Dutch, never the gateway's English or its code.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from gateway.devtools.cast import LEIDEN
from tests.browser.conftest import SCREENSHOTS, STAFF_NAME, Console, check_accessible, follow

NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


def _narrow_too(page: Any, name: str) -> None:
    """The page as it is now, photographed 390 px wide as well (a phone), then wide again."""
    page.set_viewport_size(NARROW)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(WIDE)


def _withdrawals(console: Console, v_number: str) -> list[dict[str, Any]]:
    records = console.cast.client(LEIDEN).get_json("/v1/consents", v_number=v_number)["consents"]
    return [r for r in records if r["kind"] == "withdrawal"]


def test_a_withdrawal_asks_first_and_says_after_when_and_by_whom(
    page: Any, console: Console
) -> None:
    person = console.seeded.with_consent[3]
    page.goto(console.address(f"/newcomers/{person.v_number}"))
    row = page.locator("#consents tr[data-active=yes]").first
    declaration = str(row.get_attribute("data-declaration"))
    assert row.locator("[data-consent-status]").inner_text().startswith("actief sinds ")
    follow(page, row.get_by_role("link", name="Intrekken…"))

    assert page.locator("h1").inner_text() == "Deze toestemming intrekken?"
    subject = page.locator("[data-confirm-subject]").inner_text()
    assert person.v_number in subject and person.family_name in subject
    assert page.locator("[data-confirm-actor]").inner_text() == STAFF_NAME
    check_accessible(page, "confirm-withdrawal")
    _narrow_too(page, "confirm-withdrawal")

    follow(page, page.get_by_role("link", name="Annuleren: niets wijzigen"))
    assert _withdrawals(console, person.v_number) == []
    assert row.get_attribute("data-active") == "yes"

    confirm = console.address(f"/newcomers/{person.v_number}/withdraw")
    page.goto(f"{confirm}?declaration={declaration}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    unconfirmed = page.request.post(
        confirm,
        form={
            "csrf_token": token,
            "declaration_id": declaration,
            "by": "data-subject",
        },
    )
    assert unconfirmed.status == 200 and "Deze toestemming intrekken?" in unconfirmed.text()
    assert _withdrawals(console, person.v_number) == []

    follow(page, page.get_by_role("button", name="Ja, deze toestemming intrekken"))
    receipt = page.locator(".notice.receipt").inner_text()
    said_receipt = r"Ontvangstbewijs van de gateway: bericht \S+, ontvangen op .+, auditregel \d+"
    assert re.search(said_receipt, receipt), receipt
    (withdrawal,) = _withdrawals(console, person.v_number)
    today = format_date(datetime.now(UTC).astimezone(ZoneInfo("Europe/Amsterdam")), "long", "nl")
    assert withdrawal["declaration_id"] == declaration
    said = page.locator(f"#consents tr[data-declaration='{declaration}']")
    assert said.get_attribute("data-active") == "no"
    assert (
        f"ingetrokken op {today} door {STAFF_NAME}, op verzoek van de nieuwkomer"
        in said.locator("[data-consent-status]").inner_text()
    )
    page.locator("#consents").scroll_into_view_if_needed()
    page.locator("#consents").screenshot(path=str(SCREENSHOTS / "dossier-consent-status.png"))
    page.set_viewport_size(NARROW)
    page.locator("#consents").screenshot(path=str(SCREENSHOTS / "dossier-consent-status-390.png"))
    page.set_viewport_size(WIDE)


def test_a_refused_first_plan_keeps_the_form_and_says_the_rule_in_dutch(
    page: Any, console: Console
) -> None:
    person = console.seeded.people[7]  # every fourth has no plan yet
    page.goto(console.address(f"/newcomers/{person.v_number}"))
    form = page.locator("#plan-form")
    form.locator("#route").select_option("b1-route")
    form.locator("#level").select_option("A2")
    form.locator("#literacy").select_option("AA")
    form.locator("#estimated_hours_b1").fill("420")
    form.locator("#component-knm").check()
    form.locator("#participation_goals").fill("vrijwilligerswerk in de bibliotheek")
    form.get_by_role("button", name="Ondertekenen en het plan versturen").click()
    follow(page, page.get_by_role("button", name="Ja, versie 1 ondertekenen en versturen"))

    refusal = page.locator("[data-refusal=plan]").inner_text()
    assert refusal.startswith("Geweigerd door de gateway")
    assert "Een eerste plan op de B1-route heeft B1 als doel" in refusal
    assert "Regel: de combinaties van route en niveau van DUO; veld: Niveau" in refusal
    for english in ("schema", "combination", "fails", "level:", "afschalen)"):
        assert english not in refusal, english
    assert form.locator("#route").input_value() == "b1-route"
    assert form.locator("#level").input_value() == "A2"
    assert form.locator("#literacy").input_value() == "AA"
    assert form.locator("#estimated_hours_b1").input_value() == "420"
    assert form.locator("#component-knm").is_checked()
    assert form.locator("#participation_goals").input_value() == (
        "vrijwilligerswerk in de bibliotheek"
    )
    check_accessible(page, "dossier-plan-refused")
