"""A page read in words (#30 item 4): what both consoles' word scans share.

A page fails on a tell-tale word of the other language (a code, an English word on a
Dutch page, a Dutch one on an English page), on a time shown in UTC (``UTC``, a ``Z``
suffix, an ISO timestamp) or a date as the contract spells it (``2026-01-13``), and on a
table wider than the page at 1280 px or a page that scrolls sideways at 390 px. Each
console's test brings its own tell-tale words; the looking is the same, so it is here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tests.browser.conftest import check_accessible

TYPES = (
    "handover-profile", "progress-report", "provider-assignment", "consent-declaration",
    "consent-withdrawal", "integration-plan", "duo-notification", "duo-facts",
    "consent-withdrawn", "provider-brief",
)  # fmt: skip
"""The contract's message types: codes no page should show as they are"""
MONTHS_AND_DAYS = (
    "januari", "februari", "maart", "mei", "juni", "juli", "augustus", "oktober",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
)  # fmt: skip
"""Dutch months and days an English page writes in English (April, November: the same)"""
UTC_TIME = re.compile(r"\bUTC\b|\d:\d{2}(:\d{2}(\.\d+)?)?Z\b|\d{4}-\d{2}-\d{2}T\d{2}")
ISO_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")
"""A date as the contract spells it, not as the reader's language writes it"""

WIDE_TABLES = """() => [...document.querySelectorAll('table')]
  .filter(t => t.getBoundingClientRect().width > window.innerWidth
               || t.scrollWidth > window.innerWidth)
  .map(t => (t.caption ? t.caption.innerText : '?') + ': ' + t.scrollWidth)"""
OVERFLOWING_TABLES = """() => [...document.querySelectorAll('table')].filter(t => {
    let box = t.parentElement;
    while (box && getComputedStyle(box).display === 'contents') box = box.parentElement;
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    return !scrolls && t.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
  }).map(t => (t.caption ? t.caption.innerText : t.innerText.slice(0, 40)))"""
"""Tables that run off their box (a card, a column) rather than scroll inside a frame"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth - window.innerWidth"

Telltale = Mapping[str, Sequence[str]]
"""For each language a page is read in, the words that on it betray the other"""


def _around(text: str, found: re.Match[str]) -> str:
    """What was found with the words before it, to find it on the page."""
    return text[max(0, found.start() - 30) : found.end()].replace("\n", " ")


def problems(page: Any, language: str, telltale: Telltale, codes: Sequence[str] = ()) -> list[str]:
    """What is wrong with the page as shown now, in ``language``; ``codes``: words matched
    as spelt (``b1-route`` is a code, ``B1-route`` the Dutch word)."""
    text = str(page.locator("body").inner_text())
    found = [
        f"{word!r} on a {language} page"
        for word in telltale[language]
        if re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE)
    ]
    found += [
        f"the code {code!r} on a {language} page"
        for code in codes
        if re.search(rf"(?<![\w.-]){re.escape(code)}(?![\w-])", text)
    ]
    found += [f"a time in UTC: {_around(text, m)!r}" for m in UTC_TIME.finditer(text)][:3]
    found += [f"a date not in words: {_around(text, m)!r}" for m in ISO_DATE.finditer(text)][:3]
    found += [f"a table wider than the page: {t}" for t in page.evaluate(WIDE_TABLES)]
    found += [f"a table off its box: {t!r}" for t in page.evaluate(OVERFLOWING_TABLES)]
    if page.evaluate(PAGE_WIDTH) > 0:
        found.append("the page is wider than 1280 px")
    return found


def visit(
    page: Any,
    url: str,
    name: str,
    telltale: Telltale,
    *,
    prefix: str,
    prepare: str = "",
    codes: Sequence[str] = (),
) -> list[str]:
    """Both languages: the problems found, axe and screenshots (``{prefix}-{name}-…``) at
    1280 and 390 px; ``prepare``: a script run first on each (opening what is folded)."""
    found = []
    for language in ("nl", "en"):
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(url + ("&" if "?" in url else "?") + f"lang={language}")
        assert page.locator("html").get_attribute("lang") == language
        if prepare:
            page.evaluate(prepare)
        found += [f"{name} ({language}): {p}" for p in problems(page, language, telltale, codes)]
        check_accessible(page, f"{prefix}-{name}-{language}")
        page.set_viewport_size({"width": 390, "height": 844})
        if page.evaluate(PAGE_WIDTH) > 0:
            found.append(f"{name} ({language}): the page scrolls sideways at 390 px")
        check_accessible(page, f"{prefix}-{name}-{language}-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    return found
