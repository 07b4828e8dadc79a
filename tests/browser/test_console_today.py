"""The client manager's work list, "Vandaag" (issue #30 item 2), in Chromium.

It answers "what do I do first today": what falls due in four weeks and what
is overdue, soonest first, from the gateway's own due dates and signals, each
line leading to the part of the dossier where it is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.browser.conftest import SCREENSHOTS, Console, check_accessible, follow

NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


def test_today_lists_what_falls_due_soonest_first_each_with_its_place(
    page: Any, console: Console
) -> None:
    page.goto(console.address("/today"))
    assert page.locator("h1").inner_text() == "Wat als eerste aandacht vraagt"
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() > 0
    dues = [datetime.fromisoformat(str(r.get_attribute("data-due"))) for r in rows.all()]
    assert dues == sorted(dues)  # soonest (most overdue) first
    kinds = {str(r.get_attribute("data-kind")) for r in rows.all()}
    assert "no-plan" in kinds  # every fourth seeded newcomer has no plan
    assert "term-ending" in kinds  # every eighth is far along its term
    assert "consent-ends" in kinds  # every twelfth's consent runs out in 20 days, dossier unread
    text = page.locator("table.worklist").inner_text()
    assert "days" not in text and "attendance" not in text  # Dutch words, not the gateway's
    check_accessible(page, "today")
    page.screenshot(path=str(SCREENSHOTS / "today.png"), full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path=str(SCREENSHOTS / "today-390.png"), full_page=True)
    page.set_viewport_size(WIDE)

    first = rows.first.get_by_role("link")
    target = str(first.get_attribute("href"))
    follow(page, first)
    assert page.url.endswith(target)
    anchor = target.split("#", 1)[1]
    assert page.locator(f"#{anchor}").count() == 1  # the place it is done exists
