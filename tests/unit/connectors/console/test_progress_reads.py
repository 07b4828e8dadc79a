"""A dossier view reads progress only when the copy is stale, changed here, or asked for.

Each progress read is a ``regie.read`` in the newcomer's access report, so ten views in
a minute must not be ten reads. The console's app runs here over a fake gateway client
(Flask's test client, no network); the cookie names of both consoles are checked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import Client

from connectors.auditor.console.auditlog import AuditStore
from connectors.auditor.console.views import AuditorConsole
from connectors.common.client import GatewayClient
from connectors.consoles import i18n
from connectors.consoles.web import console_app
from connectors.municipality.console.app import create_app
from connectors.municipality.console.party import Console
from connectors.municipality.console.pulling import Puller
from connectors.municipality.console.store import Store

V_NUMBER = "0123456789"
PORT = 8765
PROGRESS: dict[str, Any] = {
    "subject": {"v_number": V_NUMBER},
    "plan": None,
    "assignments": [],
    "hours": {},
    "signals": [],
    "unknown_signals": [],
}


@dataclass
class FakeGateway:
    """What the console asks of the gateway: the paths read, in order."""

    oin: str = "00000001002220647000"
    asked: list[str] = field(default_factory=list)

    def get_json(self, path: str, **params: Any) -> dict[str, Any]:
        self.asked.append(path)
        return {"consents": []} if path == "/v1/consents" else dict(PROGRESS)

    def directory(self, role: str | None = None) -> list[dict[str, Any]]:
        return []

    def progress_reads(self) -> int:
        return sum(p.endswith("/progress") for p in self.asked)


@dataclass
class Running:
    app: Flask
    browser: FlaskClient
    gateway: FakeGateway
    store: Store


def _running(tmp_path: Path, max_age: timedelta = timedelta(days=1)) -> Running:
    gateway = FakeGateway()
    client = cast(GatewayClient, gateway)
    store = Store(tmp_path / "console.sqlite3")
    console = Console(
        client=client,
        token="secret",
        store=store,
        puller=Puller(client, store, 3600),
        progress_max_age=max_age,
    )
    app = create_app(console, PORT)
    browser = app.test_client()
    browser.get(f"http://127.0.0.1:{PORT}/?token=secret")
    return Running(app, browser, gateway, store)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    found = _running(tmp_path)
    yield found
    found.store.close()


def _view(running: Running) -> str:
    answer = running.browser.get(f"http://127.0.0.1:{PORT}/newcomers/{V_NUMBER}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_ten_dossier_views_read_progress_once(running: Running) -> None:
    for _ in range(10):
        page = _view(running)
    assert running.gateway.progress_reads() == 1
    assert running.gateway.asked.count("/v1/consents") == 10  # not audited: read every view
    i18n.set_language("nl")
    assert "Voortgang en plan zoals gelezen bij de gateway op" in page
    assert "Voortgang nu lezen" in page


def test_the_refresh_button_reads_now_and_needs_its_csrf_token(running: Running) -> None:
    page = _view(running)
    url = f"http://127.0.0.1:{PORT}/newcomers/{V_NUMBER}/progress"
    assert running.browser.post(url).status_code == 400  # no CSRF token: refused
    assert running.gateway.progress_reads() == 1
    answer = running.browser.post(url, data={"csrf_token": _csrf(page)})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/newcomers/{V_NUMBER}#progress-read")
    assert running.gateway.progress_reads() == 2
    _view(running)
    assert running.gateway.progress_reads() == 2  # the copy just read is shown


def test_a_stale_copy_or_one_changed_here_is_read_again(tmp_path: Path) -> None:
    every = _running(tmp_path / "zero", timedelta(0))
    _view(every)
    _view(every)
    assert every.gateway.progress_reads() == 2  # --progress-max-age 0: every view
    daily = _running(tmp_path / "daily")
    _view(daily)
    daily.store.want_read("progress", V_NUMBER)  # a plan sent from this console
    _view(daily)
    _view(daily)
    assert daily.gateway.progress_reads() == 2


def test_the_store_says_when_a_read_is_due(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    day = timedelta(days=1)
    assert store.read_due("progress", V_NUMBER, day)
    store.keep_read("progress", V_NUMBER, PROGRESS)
    assert not store.read_due("progress", V_NUMBER, day)
    assert store.read_due("progress", V_NUMBER, timedelta(0))
    store.want_read("progress", V_NUMBER)
    assert store.read_due("progress", V_NUMBER, day)
    store.keep_read("progress", V_NUMBER, PROGRESS)
    assert not store.read_due("progress", V_NUMBER, day)
    with store._tx() as db:  # read two days ago
        db.execute("UPDATE reads SET fetched_at = '2000-01-01T00:00:00.000000Z'")
    assert store.read_due("progress", V_NUMBER, day)


def test_signed_in_to_both_consoles_on_one_host_both_stay_signed_in(
    running: Running, tmp_path: Path
) -> None:
    """One cookie jar for both ports, as a browser keeps cookies per host, not per port."""
    auditor = AuditorConsole(
        client=cast(GatewayClient, FakeGateway()),
        token="other",
        store=AuditStore(tmp_path / "audit.sqlite3"),
    )
    other = console_app(auditor, [], PORT + 1)  # no pages: 404 once admitted, 403 before

    def host(environ: dict[str, Any], start_response: Any) -> Any:
        port = environ["HTTP_HOST"].rsplit(":", 1)[1]
        return (running.app if port == str(PORT) else other)(environ, start_response)

    browser = Client(host)

    def status(port: int, path: str) -> int:
        return browser.get(path, base_url=f"http://127.0.0.1:{port}").status_code

    assert status(PORT, "/?token=secret") == 302
    assert status(PORT + 1, "/") == 403
    assert status(PORT + 1, "/?token=other") == 302
    assert status(PORT + 1, "/") == 404  # admitted; this one has no pages
    assert status(PORT, f"/newcomers/{V_NUMBER}") == 200  # still signed in
    assert status(PORT + 1, "/") == 404
    names = {app.config["SESSION_COOKIE_NAME"] for app in (running.app, other)}
    kept = [browser.get_cookie(name, domain="127.0.0.1") for name in names]
    assert len(names) == 2 and all(c is not None and c.http_only for c in kept)
