"""Sign-in and roles through the console's app (Flask's test client over a fake gateway).

Without accounts the console is the one person's it was; with accounts every
page but sign-in asks for a person, a policy officer sees the monitoring only,
only an administrator reaches the users page or gives a newcomer away, and a
client manager may take a newcomer nobody has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from connectors.common.client import GatewayClient
from connectors.municipality.console.app import create_app
from connectors.municipality.console.party import Console
from connectors.municipality.console.pulling import Puller
from connectors.municipality.console.store import Store
from connectors.municipality.console.users import Users
from tests.unit.connectors.console.test_progress_reads import PORT, V_NUMBER, FakeGateway

BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "een lang synthetisch wachtwoord"


@dataclass
class Running:
    browser: FlaskClient
    users: Users


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    client = cast(GatewayClient, FakeGateway())
    store = Store(tmp_path / "console.sqlite3")
    store.replace_reads("signals", {V_NUMBER: {"placed_at": "2026-01-01T00:00:00Z"}})
    users = Users(tmp_path / "console.sqlite3", PasswordHasher(time_cost=1, memory_cost=64))
    console = Console(client=client, token="secret", store=store,
                      puller=Puller(client, store, 3600), users=users)  # fmt: skip
    browser = create_app(console, PORT).test_client()
    yield Running(browser, users)
    users.close()
    store.close()


def _sign_in(running: Running, name: str) -> None:
    page = running.browser.get(f"{BASE}/signin").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    answer = running.browser.post(f"{BASE}/signin", data={
        "csrf_token": found.group(1), "name": name, "password": PASSWORD})  # fmt: skip
    assert answer.status_code == 303


def _csrf(running: Running, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      running.browser.get(f"{BASE}{path}").get_data(as_text=True))  # fmt: skip
    assert found is not None
    return found.group(1)


def test_without_accounts_the_token_admits_and_with_one_sign_in_is_asked(running: Running) -> None:
    assert running.browser.get(f"{BASE}/").status_code == 403
    running.browser.get(f"{BASE}/?token=secret")
    assert running.browser.get(f"{BASE}/").status_code == 200
    running.users.add("A. Bakker", "administrator", PASSWORD)
    answer = running.browser.get(f"{BASE}/newcomers/{V_NUMBER}")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/signin")


def test_a_policy_officer_reads_the_monitoring_only(running: Running) -> None:
    running.users.add("P. Visser", "policy-officer", PASSWORD)
    _sign_in(running, "P. Visser")
    assert running.browser.get(f"{BASE}/cohort").status_code == 200
    assert running.browser.get(f"{BASE}/").headers["Location"] == "/cohort"
    for path in (f"/newcomers/{V_NUMBER}", "/today", "/newcomers.csv", "/users"):
        assert running.browser.get(f"{BASE}{path}").status_code == 403, path


def test_only_an_administrator_gives_and_a_client_manager_takes_one_nobody_has(
    running: Running,
) -> None:
    a = running.users.add("M. de Vries", "client-manager", PASSWORD)
    b = running.users.add("J. Jansen", "client-manager", PASSWORD)
    _sign_in(running, "M. de Vries")
    assert running.browser.get(f"{BASE}/users").status_code == 403
    token = _csrf(running, "/")
    running.browser.post(f"{BASE}/newcomers/{V_NUMBER}/caseload",
                         data={"csrf_token": token, "user": b.id})  # fmt: skip
    assert running.users.caseload() == {}  # a client manager gives nobody away
    running.browser.post(f"{BASE}/newcomers/{V_NUMBER}/caseload",
                         data={"csrf_token": token, "take": "yes"})  # fmt: skip
    assert running.users.caseload() == {V_NUMBER: a.id}
    running.users.add("A. Bakker", "administrator", PASSWORD)
    _sign_in(running, "A. Bakker")
    running.browser.post(f"{BASE}/newcomers/{V_NUMBER}/caseload",
                         data={"csrf_token": _csrf(running, "/"), "user": b.id})  # fmt: skip
    assert running.users.caseload() == {V_NUMBER: b.id}


@pytest.mark.parametrize("asked", ["/%09/evil.example", "/%0d%0a/x", "//evil.example",
                                   "/\\evil.example", "https://evil.example"])  # fmt: skip
def test_after_sign_in_only_a_path_of_this_console_is_followed(
    running: Running, asked: str
) -> None:
    """A tab between the slashes passed the check, and the browser read "//evil.example"
    as another host (an open redirect); a line break was a 500."""
    running.users.add("A. Bakker", "administrator", PASSWORD)
    token = _csrf(running, "/signin")
    answer = running.browser.post(f"{BASE}/signin?next={asked}", data={
        "csrf_token": token, "name": "A. Bakker", "password": PASSWORD})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
