"""The dossier's DUO part says every fact DUO gave in words, and says briefly when there are none.

Over the console's app and a fake gateway (Flask's test client, as in
``test_progress_reads``): the progress read kept in the store carries the
``duo`` member; the page's DUO section is read back in Dutch and English.
The real thing, over HTTP and in Chromium with axe, is in
``tests/browser/test_console.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.consoles import i18n
from connectors.municipality.console import from_duo
from tests.unit.connectors.console.test_progress_reads import (
    PORT,
    PROGRESS,
    V_NUMBER,
    Running,
    _running,
)

DUO: dict[str, Any] = {
    "events": [
        {"gebeurtenisId": "SS139", "registratieDatumTijd": "2026-09-01T10:00:00Z",
         "family": "new-obligation"},
        {"gebeurtenisId": "SS121", "registratieDatumTijd": "2026-11-20T10:00:00Z",
         "family": "change-of-municipality"},
        {"gebeurtenisId": "SS106", "registratieDatumTijd": "2026-11-30T10:00:00Z",
         "family": "obligation-met"},
        {"gebeurtenisId": "SS998", "registratieDatumTijd": "2026-12-01T10:00:00Z",
         "family": "other"},
    ],
    "previous_plan_exists": True,
    "facts": {
        "fetched_at": "2026-12-01T09:00:00Z",
        "inburgeringsplicht": {"indicatorInburgeringsplicht": True, "begindatum": "2026-09-01"},
        "inburgeringstermijn": {"startdatum": "2026-09-01", "einddatum": "2029-09-01"},
        "leerbaarheidstoets": {"resultaat": "B1-route niet haalbaar", "behaaldeScore": "41,00",
                               "benodigdeScore": "55,00", "datumAfname": "2026-10-01"},
        "examenresultaten": [
            {"examendatum": "2026-11-02", "resultaat": "Gezakt", "onderdeel": "LE",
             "niveau": "A2"},
            {"examendatum": "2026-10-02", "resultaat": "Geen", "onderdeel": "SP",
             "redenGeenResultaat": "Afgemeld"},
        ],
        "vrijstellingen": {"GedeeltelijkeVrijstelling": {
            "oordeel": "Toegekend", "examenonderdeel": "LU", "datumOordeel": "2026-10-10"}},
    },
    "term_ends": "2029-09-01",
    "learning_route_due": "2026-11-10",
    "obligation_ended": {"gebeurtenisId": "SS106", "registratieDatumTijd": "2026-11-30T10:00:00Z"},
}  # fmt: skip


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    found = _running(tmp_path)
    yield found
    found.store.close()


def _duo_section(running: Running, language: str) -> str:
    """The DUO section of the dossier as text: one line a cell or a row's label and value."""
    answer = running.browser.get(f"http://127.0.0.1:{PORT}/newcomers/{V_NUMBER}?lang={language}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    part = page[page.index('<section id="duo"') : page.index('<section id="profile"')]
    text = re.sub(r"<[^>]+>", "\n", part).replace("&#39;", "'")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def test_nothing_from_duo_is_nothing_to_show() -> None:
    assert not from_duo.told(None).known
    assert not from_duo.told(PROGRESS).known  # a gateway before profile v1.2
    empty = {"events": [], "previous_plan_exists": False, "facts": None, "term_ends": None,
             "learning_route_due": None, "obligation_ended": None}  # fmt: skip
    assert not from_duo.told({**PROGRESS, "duo": empty}).known


def test_a_dossier_without_duo_says_so_in_one_line(running: Running) -> None:
    text = _duo_section(running, "nl")
    assert text.splitlines() == [
        "Wat DUO meldde",
        "Nog niets van DUO over deze nieuwkomer: geen notificaties, geen antwoorden.",
    ]


def test_duos_facts_and_events_read_in_dutch(running: Running) -> None:
    running.store.keep_read("progress", V_NUMBER, {**PROGRESS, "duo": DUO})
    text = _duo_section(running, "nl")
    for expected in (
        "Einde van de inburgeringstermijn (DUO)\n1 september 2029",
        "Leerroute vast te stellen uiterlijk (na SS139 van DUO)\n10 november 2026",
        "Plan van de vorige gemeente\nbestaat, volgens DUO (SS121, 20 november 2026)",
        "Inburgeringsplicht beëindigd\ninburgeringsplicht voldaan (SS106, 30 november 2026)",
        "Zoals DUO antwoordde op 1 december 2026.",
        "Inburgeringsplichtig\nja",
        "Uitslag\nB1-route niet haalbaar\nScore\n41,00 (nodig: 55,00)\n"
        "Datum afname\n1 oktober 2026",
        "Gedeeltelijke vrijstelling\nOordeel: Toegekend; Examenonderdeel: Luistervaardigheid "
        "(LU); Datum oordeel: 10 oktober 2026",
        # oldest first
        "2 oktober 2026\nSpreekvaardigheid (SP)\n—\ngeen resultaat (afgemeld)\n"
        "2 november 2026\nLeesvaardigheid (LE)\nA2\ngezakt",
        "1 september 2026\nSS139\ninburgeringsplichtig geworden",
        "1 december 2026\nSS998\neen andere gebeurtenis",
    ):
        assert expected in text


def test_duos_facts_read_in_english_too(running: Running) -> None:
    running.store.keep_read("progress", V_NUMBER, {**PROGRESS, "duo": DUO})
    text = _duo_section(running, "en")
    i18n.set_language("nl")
    assert "End of the term (DUO)\nSeptember 1, 2029" in text
    assert "Reading skills (LE)\nA2\nfailed" in text
    assert "Previous municipality's plan\nexists, as DUO said (SS121, November 20, 2026)" in text


def test_answers_without_exams_do_not_say_there_are_none(running: Running) -> None:
    facts = {
        "fetched_at": "2026-12-01T09:00:00Z",
        "inburgeringstermijn": {"startdatum": "2026-09-01", "einddatum": "2029-09-01"},
    }
    duo = {**DUO, "events": [], "previous_plan_exists": False, "obligation_ended": None,
           "learning_route_due": None, "facts": facts}  # fmt: skip
    running.store.keep_read("progress", V_NUMBER, {**PROGRESS, "duo": duo})
    text = _duo_section(running, "nl")
    assert "DUO is nog niet naar examenresultaten gevraagd." in text
    assert "Geen notificaties van DUO." in text
    assert "Plan van de vorige gemeente" not in text
