"""Leiden's client manager and policy officer at work in Chromium, through the real console.

The console runs as its own process against a real gateway; every step is
what a person does in the browser: open a dossier, record a consent with a
scanned form, pull, withdraw, change a plan, read the cohort figures.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from babel.dates import format_date

from gateway.client import wire
from gateway.devtools.cast import AUDITOR, COA, DUO, LEIDEN, UTRECHT
from gateway.devtools.duostandin import notify
from gateway.devtools.serverproc import free_port
from tests.browser.conftest import (
    SCREENSHOTS,
    Console,
    check_accessible,
    follow,
    start_console,
    stop,
    wait_for_first_round,
)
from tests.e2e.test_true_facts_http import Case


def _dossier(page: Any, console: Console, v_number: str) -> None:
    page.goto(console.address(f"/newcomers/{v_number}"))


def _state(page: Any, category: str) -> str:
    return str(page.locator(f"#profile [data-category={category}]").get_attribute("data-state"))


def _pull_now(page: Any) -> None:
    follow(page, page.get_by_role("button", name="Nu ophalen"))


def test_the_newcomers_list_finds_one_by_v_number(page: Any, console: Console) -> None:
    rows = page.locator("table.list tbody tr")
    assert rows.count() == len(console.seeded.people)
    check_accessible(page, "newcomers")
    one = console.seeded.people[3]
    page.get_by_label("Zoeken op naam, V-nummer of BSN").fill(one.v_number)
    follow(page, page.get_by_role("button", name="Zoeken"))
    assert rows.count() == 1
    assert one.v_number in rows.first.inner_text()


def _record_consent(page: Any, category: str) -> None:
    """The consent form filled in as a client manager does, for ``category`` (brede intake)."""
    page.get_by_text("Een toestemmingsverklaring vastleggen").click()
    page.get_by_role("checkbox", name=category, exact=True).check()
    page.get_by_role("checkbox", name="brede intake", exact=True).check()
    page.get_by_label("Uitgelegd in").select_option("ar")
    page.set_input_files(
        "#form",
        files=[
            {
                "name": "verklaring.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4 synthetic",
            }
        ],
    )
    page.get_by_role("button", name="Ondertekenen en de toestemming vastleggen").click()
    assert "Toestemming vastgelegd" in page.locator(".notice.receipt").inner_text()


def _kept_profiles(console: Console, v_number: str) -> list[tuple[str, bool, dict[str, Any]]]:
    """The console's own store, read beside it: (delivery id, acknowledged, document)."""
    db = sqlite3.connect(f"file:{console.data / 'console.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT delivery_id, acknowledged, document FROM deliveries"
            " WHERE v_number = ? AND type = 'handover-profile'",
            (v_number,),
        ).fetchall()
    finally:
        db.close()
    return [(r[0], bool(r[1]), json.loads(r[2])) for r in rows]


def test_a_consent_after_the_pull_brings_the_category_in_a_newer_copy(
    page: Any, console: Console
) -> None:
    """The delivery was acknowledged at the first pull (nothing held open); the consent
    recorded afterwards makes the gateway hand the profile out again (``supersedes``)."""
    person = console.seeded.without_consent[1]
    ((first, acknowledged, _),) = _kept_profiles(console, person.v_number)
    assert acknowledged
    _dossier(page, console, person.v_number)
    assert _state(page, "family") == "withheld"
    _record_consent(page, "Gezin")
    _pull_now(page)
    assert "opnieuw gebracht na toestemming: 1" in page.locator(".notice.receipt").inner_text()
    assert _state(page, "family") == "shown"
    ((newer, acknowledged, document),) = _kept_profiles(console, person.v_number)
    assert newer != first and document["supersedes"] == [first] and acknowledged


def test_consent_brings_a_category_in_and_withdrawal_takes_it_away(
    page: Any, console: Console
) -> None:
    person = console.seeded.without_consent[0]
    _dossier(page, console, person.v_number)
    assert _state(page, "family") == "withheld"
    family = page.locator("#profile [data-category=family]")
    assert "geen toestemming voor gezin" in family.inner_text()
    assert _state(page, "identity") == "shown"
    check_accessible(page, "dossier-withheld")

    _record_consent(page, "Gezin")
    assert _state(page, "family") == "withheld"  # not before the next pull

    _pull_now(page)
    assert _state(page, "family") == "shown"
    assert "Gezinsleden" in family.inner_text() or "Niet in dit bericht" not in family.inner_text()
    check_accessible(page, "dossier-consented")

    row = page.locator("#consents tr", has_text="Gezin")
    row.get_by_role("link", name="Intrekken…").click()
    follow(page, page.get_by_role("button", name="Ja, deze toestemming intrekken"))
    assert "Toestemming ingetrokken" in page.locator(".notice.receipt").inner_text()
    _pull_now(page)
    assert _state(page, "family") == "withdrawn"
    assert "Gezinsleden" not in family.inner_text()
    assert "Meldingen van intrekking" in page.locator("#consents").inner_text()
    check_accessible(page, "dossier-withdrawn")


def test_a_plan_change_shows_in_the_dossier_and_a_refusal_in_words(
    page: Any, console: Console
) -> None:
    person = console.seeded.with_consent[0]
    _dossier(page, console, person.v_number)
    version = page.locator("[data-plan-version]")
    assert version.get_attribute("data-plan-version") == "1"
    check_accessible(page, "dossier-plan")

    page.get_by_text("Het plan wijzigen (nieuwe versie)").click()
    page.get_by_label("Reden van wijziging").select_option("schakelen")
    page.locator("#route").select_option("onderwijsroute")
    page.locator("#level").select_option("A2")
    page.locator("#estimated_hours_b1").fill("")
    page.get_by_role("button", name="Ondertekenen en het plan versturen").click()
    follow(page, page.get_by_role("button", name="Ja, versie 2 ondertekenen en versturen"))
    refusal = page.get_by_role("alert")
    assert "Geweigerd" in refusal.inner_text()
    assert version.get_attribute("data-plan-version") == "1"

    # the refused form stays open, as it was filled in
    page.get_by_label("Reden van wijziging").select_option("schakelen")
    page.locator("#route").select_option("z-route")
    page.locator("#level").select_option("")
    page.locator("#estimated_hours_b1").fill("")
    page.get_by_role("button", name="Ondertekenen en het plan versturen").click()
    follow(page, page.get_by_role("button", name="Ja, versie 2 ondertekenen en versturen"))
    assert "Versie 2 van het plan vastgelegd" in page.locator(".notice.receipt").inner_text()
    assert version.get_attribute("data-plan-version") == "2"
    assert page.locator("[data-plan-route]").get_attribute("data-plan-route") == "z-route"
    assert "versie 2" in page.locator("#plan").inner_text()


def test_the_cohort_page_never_shows_a_cell_under_5(page: Any, console: Console) -> None:
    page.goto(console.address("/cohort"))
    cells = page.locator("td.count").all_inner_texts()
    assert cells, "the cohort page shows figures"
    for text in cells:
        assert text in ("< 5", "x") or int(text) >= 5, text
    assert "< 5" in cells
    check_accessible(page, "cohort")
    with page.expect_download() as download:
        page.get_by_text("Downloaden als CSV").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()[1:]
    assert [line.rsplit(",", 1)[1] for line in lines if not line.endswith(",total")]
    for line in lines:
        value = line.rsplit(",", 1)[1]
        assert value in ("< 5", "x") or int(value) >= 5, line


def test_english_follows_from_the_catalogue(page: Any, console: Console) -> None:
    page.goto(console.address("/?lang=en"))
    assert page.locator("h1").inner_text() == "Newcomers placed with your municipality"
    assert page.locator("html").get_attribute("lang") == "en"
    check_accessible(page, "newcomers-en")
    page.goto(console.address("/?lang=nl"))


def test_only_the_token_gets_in_and_every_form_needs_its_csrf_token(
    page: Any, console: Console, browser: Any
) -> None:
    stranger = browser.new_context(locale="nl-NL", bypass_csp=True).new_page()
    assert stranger.goto(console.address("/")).status == 403
    assert stranger.goto(console.address("/?token=wrong")).status == 403
    check_accessible(stranger, "not-admitted")
    stranger.context.close()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    rebound = requests.get(
        console.address("/"), headers={"Host": "evil.example:80"}, cookies=cookies, timeout=10
    )
    assert rebound.status_code == 400
    forged = requests.post(
        console.address("/pull"),
        cookies=cookies,
        timeout=10,
        headers={"Host": re.sub("^http://", "", console.url)},
    )
    assert forged.status_code == 400
    answer = requests.get(console.address("/"), cookies=cookies, timeout=10)
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_console_prints_no_personal_data(console: Console) -> None:
    printed = "".join(console.output)
    for person in console.seeded.people:
        assert person.v_number not in printed
        assert person.family_name not in printed


def test_the_newcomers_own_copy_in_the_language_of_the_consent_and_the_others(
    page: Any, console: Console
) -> None:
    person = console.seeded.with_consent[1]
    _dossier(page, console, person.v_number)
    opener = page.locator("[data-report-language]")
    assert opener.get_attribute("data-report-language") == "ar"  # explained in Arabic
    opener.click()
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert page.locator(".review").count() == 1
    check_accessible(page, "report-ar")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(SCREENSHOTS / "report-ar.pdf"))
    for language, words in (("nl", "ontving"), ("en", "received"), ("tr", "ald\u0131")):
        page.goto(console.address(f"/newcomers/{person.v_number}/access-report?report={language}"))
        assert html.get_attribute("lang") == language and html.get_attribute("dir") == "ltr"
        text = page.locator("main").inner_text()
        assert words in text and person.v_number in text
        assert "delivery.acknowledged" not in page.content()
        check_accessible(page, f"report-{language}")
        page.pdf(path=str(SCREENSHOTS / f"report-{language}.pdf"))


def _progress_reads(console: Console, v_number: str) -> int:
    """Leiden's progress reads of the newcomer in the audit log (not the signals walks)."""
    entries = console.cast.client(AUDITOR).get_json(f"/v1/audit/subjects/{v_number}")["entries"]
    return sum(
        1
        for e in entries
        if e["entry"]["event"] == "regie.read"
        and e["entry"]["actor"] == LEIDEN
        and e["entry"].get("reason") == "progress"
    )


def test_ten_dossier_views_are_one_line_in_the_newcomers_own_copy(
    page: Any, console: Console
) -> None:
    used = {p.v_number for p in console.seeded.with_consent[:2]}
    used.add(console.seeded.without_consent[0].v_number)
    person = next(p for p in reversed(console.seeded.people) if p.v_number not in used)
    before = _progress_reads(console, person.v_number)
    for _ in range(10):
        _dossier(page, console, person.v_number)
    assert _progress_reads(console, person.v_number) == before  # read at the first round
    assert (
        "Voortgang en plan zoals gelezen bij de gateway op"
        in page.locator("#progress-read").inner_text()
    )
    check_accessible(page, "dossier-progress-read")
    page.get_by_role("button", name="Voortgang nu lezen").click()
    page.wait_for_load_state()
    assert _progress_reads(console, person.v_number) == before + 1
    page.goto(console.address(f"/newcomers/{person.v_number}/access-report?report=nl"))
    lines = [
        text
        for text in page.locator("td").all_inner_texts()
        if "bekeek de voortgang van uw inburgering" in text
    ]
    assert len(lines) == 1 and " keer op " in lines[0], lines


def test_signed_in_to_both_consoles_on_one_host_both_stay_signed_in(
    page: Any, console: Console, tmp_path: Any
) -> None:
    port = free_port()
    process, token = start_console(
        console.cast.url,
        AUDITOR,
        console.keys[AUDITOR],
        "auditor",
        "console",
        "--data",
        str(tmp_path / "auditor"),
        "--port",
        str(port),
        "--interval",
        "3600",
    )
    try:
        wait_for_first_round(process, [], prefix="verify:")
        auditor = f"http://127.0.0.1:{port}"
        assert page.goto(f"{auditor}/?token={token}").status == 200
        assert page.goto(console.address("/")).status == 200  # still signed in here
        assert page.goto(f"{auditor}/").status == 200  # and there
        names = {c["name"] for c in page.context.cookies() if c["name"] != "lang"}
        assert len(names) == 2, names
    finally:
        stop(process)


def test_the_dossier_shows_what_duo_told_of_a_newcomer_who_moved_in(
    page: Any, console: Console
) -> None:
    """Placed by COA in Utrecht, then settled in Leiden with Utrecht's plan (DUO's SS121);
    Leiden's connector sent what DUO answered (``duo-facts``). The client manager reads
    DUO's term end, the learnability test, the exams by component and the plan that exists."""
    now = datetime.now(UTC)
    case = Case(console.cast, 29101, municipality=UTRECHT)
    assert case.place() == 202
    v_number, duo = case.person.v_number, console.cast.client(DUO)
    assert notify(duo, LEIDEN, v_number, "SS121", now - timedelta(days=2)).status_code == 201
    assert notify(duo, LEIDEN, v_number, "SS139", now - timedelta(days=1)).status_code == 201
    ends = (now + timedelta(days=400)).date()
    facts = {
        "fetched_at": wire.format_time(now),
        "inburgeringstermijn": {"startdatum": "2026-01-15", "einddatum": ends.isoformat()},
        "leerbaarheidstoets": {"resultaat": "B1-route haalbaar", "behaaldeScore": "61,50",
                               "benodigdeScore": "55,00", "datumAfname": "2026-10-01"},
        "examenresultaten": [{"examendatum": "2026-11-02", "resultaat": "Geslaagd",
                              "onderdeel": "KNM", "niveau": "B1"},
                             {"examendatum": "2026-11-03", "resultaat": "Geen", "onderdeel": "SP",
                              "redenGeenResultaat": "Afgemeld"}],
    }  # fmt: skip
    case.municipality = LEIDEN
    assert case.send(LEIDEN, "duo-facts", facts) == 202
    _dossier(page, console, v_number)
    told = page.locator("#duo")
    text = told.inner_text()
    assert f"Einde van de inburgeringstermijn (DUO)\n{format_date(ends, 'long', 'nl')}" in text
    assert "Plan van de vorige gemeente\nbestaat, volgens DUO (SS121" in text
    assert "B1-route haalbaar" in text and "61,50 (nodig: 55,00)" in text
    assert format_date(date(2026, 10, 1), "long", "nl") in text  # the test's date
    knm = told.locator("[data-duo=exams] tr", has_text="Kennis van de Nederlandse Maatschappij")
    assert knm.inner_text().split("\t")[1:] == [
        "Kennis van de Nederlandse Maatschappij (KNM)", "B1", "geslaagd"
    ]
    events = told.locator("[data-duo=events] tbody tr").all_inner_texts()
    assert [e.split("\t")[1:] for e in events] == [
        ["SS121", "hierheen verhuisd uit een andere gemeente"],
        ["SS139", "inburgeringsplichtig geworden"],
    ]
    check_accessible(page, "dossier-duo")
    _dossier(page, console, console.seeded.people[2].v_number)
    assert "Nog niets van DUO over deze nieuwkomer" in told.inner_text()


def test_a_profile_coa_signed_itself_says_so_in_the_dossier(page: Any, console: Console) -> None:
    """The seed's version-2 profile (COA's SD-JWT, issue #32): the console pinned COA's key
    at its first pull and verified it; the dossier says "ondertekend door COA", the key's
    thumbprint shortened in its title. A version 1, signed by the gateway only, does not."""
    person = console.seeded.signed
    assert person is not None
    page.get_by_label("Zoeken op naam, V-nummer of BSN").fill(person.v_number)
    follow(page, page.get_by_role("button", name="Zoeken"))
    follow(page, page.locator(f"table.list a[href='/newcomers/{person.v_number}']"))
    signed = page.locator("#profile [data-coa-signature]")
    assert signed.inner_text() == "ondertekend door COA"
    kid = wire.thumbprint(console.cast.keys[COA])
    assert signed.get_attribute("data-coa-signature") == kid
    assert f"({kid[:12]}…)" in str(signed.get_attribute("title"))
    assert _state(page, "identity") == "shown" and _state(page, "family") == "shown"  # consent
    assert _state(page, "health") == "withheld"
    check_accessible(page, "dossier-signed-by-coa")
    pins = json.loads((console.data / "issuer-keys.json").read_text())
    assert [r["jwk"]["kid"] for r in pins["issuers"][COA]] == [kid]
    assert sum("pinned COA's keys" in line for line in console.output) == 1
    _dossier(page, console, console.seeded.people[0].v_number)
    assert page.locator("#profile [data-coa-signature]").count() == 0
    assert _state(page, "identity") == "shown"
