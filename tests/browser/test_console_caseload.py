"""Caseloads (issue #30 item 1): people sign in as themselves, each client manager sees their own.

A console of its own (its own ``--data`` folder, against the session's seeded
gateway, so the session's console without accounts keeps working as before)
gets accounts: the first administrator made on the command line
(``console-users add``, the password from the environment), the others as an
administrator would. The administrator gives newcomers to two client
managers in the browser; each then finds theirs under "Mijn nieuwkomers" and
not the other's; a policy officer is refused a dossier in words; a client
manager's CSV export holds their own caseload only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.devtools.cast import LEIDEN
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

PASSWORD = "een lang synthetisch wachtwoord"
ADMIN, A, B, OFFICER = "A. Bakker", "M. de Vries", "J. Jansen", "P. Visser"
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


@dataclass
class WithUsers:
    url: str
    data: Path
    session: Console

    def address(self, path: str = "/") -> str:
        return f"{self.url}{path}"


def _add_user(data: Path, name: str, role: str) -> None:
    """``gateway connect municipality console-users add``, as whoever sets the console up."""
    subprocess.run(
        [sys.executable, "-m", "gateway", "connect", "municipality", "console-users", "add",
         "--data", str(data), "--name", name, "--role", role],
        env={**os.environ, "GATEWAY_CONSOLE_PASSWORD": PASSWORD},
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def with_users(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WithUsers]:
    data = tmp_path_factory.mktemp("console-with-users") / "data"
    _add_user(data, ADMIN, "administrator")
    for name, role in ((A, "client-manager"), (B, "client-manager"), (OFFICER, "policy-officer")):
        _add_user(data, name, role)
    port = free_port()
    process, _ = start_console(
        console.cast.url, LEIDEN, console.keys[LEIDEN], "municipality", "console",
        "--data", str(data), "--port", str(port), "--interval", "3600",
    )  # fmt: skip
    try:
        wait_for_first_round(process, [])
        yield WithUsers(f"http://127.0.0.1:{port}", data, console)
    finally:
        stop(process)


def _sign_in(page: Any, console: WithUsers, name: str, password: str = PASSWORD) -> None:
    page.goto(console.address("/signin"))
    page.get_by_label("Naam").fill(name)
    page.get_by_label("Wachtwoord").fill(password)
    follow(page, page.get_by_role("button", name="Aanmelden"))


def _sign_out(page: Any) -> None:
    follow(page, page.get_by_role("button", name="Afmelden"))


def _give(page: Any, console: WithUsers, v_number: str, to: str) -> None:
    page.goto(console.address(f"/newcomers/{v_number}"))
    page.get_by_label("Deze nieuwkomer toewijzen aan").select_option(label=to)
    follow(page, page.get_by_role("button", name="Toewijzen", exact=True))
    assert page.locator("[data-client-manager]").get_attribute("data-client-manager") == to


def _mine(page: Any, console: WithUsers) -> str:
    page.goto(console.address("/"))
    assert page.locator("h1").inner_text() == "Mijn nieuwkomers"
    return str(page.locator("table.list tbody").inner_text()) if page.locator(
        "table.list").count() else ""  # fmt: skip


def test_a_newcomer_given_to_a_client_manager_is_in_their_list_and_not_anothers(
    context: Any, with_users: WithUsers
) -> None:
    page = context.new_page()
    page.goto(with_users.address("/"))
    assert page.url.startswith(with_users.address("/signin"))  # every page needs a person
    check_accessible(page, "signin")
    page.set_viewport_size(NARROW)
    page.screenshot(path=str(SCREENSHOTS / "signin-390.png"), full_page=True)
    page.set_viewport_size(WIDE)
    _sign_in(page, with_users, A, "niet het wachtwoord")
    assert "De naam of het wachtwoord klopt niet" in page.get_by_role("alert").inner_text()

    people = with_users.session.seeded.people
    mine, theirs = people[5], people[6]
    _sign_in(page, with_users, ADMIN)
    _give(page, with_users, mine.v_number, A)
    check_accessible(page, "dossier-caseload")
    _give(page, with_users, theirs.v_number, B)
    _sign_out(page)

    _sign_in(page, with_users, A)
    listed = _mine(page, with_users)
    assert mine.v_number in listed and theirs.v_number not in listed
    check_accessible(page, "caseload-mine")
    page.set_viewport_size(NARROW)
    page.screenshot(path=str(SCREENSHOTS / "caseload-mine-390.png"), full_page=True)
    page.set_viewport_size(WIDE)
    follow(page, page.get_by_role("link", name="Alle nieuwkomers"))
    everyone = page.locator("table.list tbody").inner_text()
    assert mine.v_number in everyone and theirs.v_number in everyone
    _sign_out(page)

    _sign_in(page, with_users, B)
    listed = _mine(page, with_users)
    assert theirs.v_number in listed and mine.v_number not in listed
    # Vandaag: B's own caseload first, everyone's a tab away
    page.goto(with_users.address("/today"))
    rows = page.locator("table.worklist tbody tr")
    assert {r.get_attribute("data-v-number") for r in rows.all()} <= {theirs.v_number}
    follow(page, page.get_by_role("link", name="Alle nieuwkomers"))
    everyone = {r.get_attribute("data-v-number") for r in page.locator(
        "table.worklist tbody tr").all()}  # fmt: skip
    assert len(everyone) > 1


def test_a_policy_officer_is_refused_a_dossier_in_words(
    context: Any, with_users: WithUsers
) -> None:
    page = context.new_page()
    _sign_in(page, with_users, OFFICER)
    assert page.url == with_users.address("/cohort")  # where a policy officer starts
    one = with_users.session.seeded.people[5]
    answer = page.goto(with_users.address(f"/newcomers/{one.v_number}"))
    assert answer.status == 403
    said = page.locator("main").inner_text()
    assert "Als beleidsmedewerker ziet u alleen de monitoringcijfers" in said
    assert one.family_name not in said
    nav = page.get_by_role("navigation", name="Hoofdmenu").inner_text()
    assert "Monitoring" in nav and "Nieuwkomers" not in nav
    check_accessible(page, "refused-policy-officer")


def test_a_client_managers_csv_export_holds_their_caseload_only(
    context: Any, with_users: WithUsers
) -> None:
    page = context.new_page()
    _sign_in(page, with_users, ADMIN)
    people = with_users.session.seeded.people
    for person, to in ((people[7], A), (people[9], A), (people[10], B)):
        _give(page, with_users, person.v_number, to)
    _sign_out(page)
    _sign_in(page, with_users, A)
    page.goto(with_users.address("/?view=all"))  # asks for everyone: the export is A's own
    with page.expect_download() as download:
        page.get_by_role("link", name="Deze lijst downloaden (CSV)").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r["Klantmanager"] for r in rows} == {A}
    exported = {r["V-nummer"] for r in rows}
    assert {people[7].v_number, people[9].v_number} <= exported
    assert people[10].v_number not in exported and people[6].v_number not in exported
    assert "BSN" not in rows[0]


def test_what_a_signed_in_client_manager_sends_names_them_by_pseudonym_only(
    context: Any, with_users: WithUsers
) -> None:
    """The gateway takes the envelope's ``staff`` member; the console keeps who it was."""
    page = context.new_page()
    _sign_in(page, with_users, A)
    one = with_users.session.seeded.people[11]
    page.goto(with_users.address(f"/newcomers/{one.v_number}"))
    page.get_by_text("Een aanbieder toewijzen").click()
    follow(page, page.get_by_role("button", name="Ondertekenen en de toewijzing versturen"))
    assert "Aanbieder toegewezen" in page.locator(".notice.receipt").inner_text()
    db = sqlite3.connect(f"file:{with_users.data / 'console.sqlite3'}?mode=ro", uri=True)
    try:
        (kept,) = db.execute(
            "SELECT message FROM actions WHERE v_number = ? AND kind = 'assignment'",
            (one.v_number,),
        ).fetchone()
        (user_id,) = db.execute("SELECT id FROM users WHERE name = ?", (A,)).fetchone()
        mapped = db.execute("SELECT user_id FROM staff_pseudonyms").fetchall()
    finally:
        db.close()
    record = json.loads(kept)
    assert record["actor"] == A and record["actor_id"] == user_id
    assert re.fullmatch(r"staff-[0-9a-f]{16}", record["staff"])
    assert (user_id,) in mapped
