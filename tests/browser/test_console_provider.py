"""Signing in with the municipality's own accounts (issue #30 item 1): OpenID Connect.

The municipality's provider is played by software no one here wrote (panva's
``oidc-provider``, OpenID Certified; ``tests/oidc/provider.py``), over TLS
with a certificate of the tests' own CA, which the console is given with
``--oidc-ca-file``. Chromium goes through the provider's own sign-in and
consent pages, as a client manager would through the municipality's. The
console's folder has no accounts at all: the provider's sign-in is what turns
sign-in on, and makes each account at its first sign-in with the role its
group gives.
"""

from __future__ import annotations

import os
import sqlite3
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
from tests.oidc import provider as oidc

SECRET = "een synthetisch clientgeheim van de testgemeente"
ACCOUNTS = {
    "kdejong": {"name": "K. de Jong", "groups": ["inburgering-klantmanagers", "alle-medewerkers"]},
    "rsmit": {"name": "R. Smit", "groups": ["beleid-sociaal-domein"]},
    "tbos": {"name": "T. Bos", "groups": ["alle-medewerkers"]},
}
"""synthetic staff of the municipality, as its provider knows them"""


@dataclass
class WithProvider:
    url: str
    data: Path
    issuer: str

    def address(self, path: str = "/") -> str:
        return f"{self.url}{path}"

    def accounts(self) -> list[tuple[str, str, int]]:
        with sqlite3.connect(self.data / "console.sqlite3") as db:
            return list(db.execute("SELECT name, role, active FROM users ORDER BY name"))


@pytest.fixture(scope="module")
def with_provider(
    console: Console, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WithProvider]:
    why = oidc.missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("console-with-provider")
    port = free_port()
    console_url = f"http://127.0.0.1:{port}"
    client = {
        "client_id": "inburgering-console",
        "client_secret": SECRET,
        "redirect_uris": [f"{console_url}/signin/provider/back"],
        "post_logout_redirect_uris": [f"{console_url}/signin"],
        "scope": "openid profile groups",
    }
    (tmp / "secret").write_text(SECRET + "\n")
    with oidc.provider(tmp / "provider", [client], ACCOUNTS) as running:
        process, _ = start_console(
            console.cast.url, LEIDEN, console.keys[LEIDEN], "municipality", "console",
            "--data", str(tmp / "data"), "--port", str(port), "--interval", "3600",
            "--oidc-issuer", running.issuer, "--oidc-client-id", "inburgering-console",
            "--oidc-client-secret-file", str(tmp / "secret"),
            "--oidc-role", "client-manager=inburgering-klantmanagers",
            "--oidc-role", "policy-officer=beleid-sociaal-domein",
            "--oidc-scope", "openid profile groups", "--oidc-ca-file", str(running.ca_file),
        )  # fmt: skip
        try:
            wait_for_first_round(process, [])
            yield WithProvider(console_url, tmp / "data", running.issuer)
        finally:
            stop(process)


@pytest.fixture
def visitor(browser: Any) -> Iterator[Any]:
    """A browser of its own, which accepts the provider's certificate (of the tests' CA)."""
    context = browser.new_context(
        ignore_https_errors=True, locale="nl-NL", bypass_csp=True,
        viewport={"width": 1280, "height": 800},
    )  # fmt: skip
    try:
        yield context.new_page()
    finally:
        context.close()


def _through_provider(page: Any, login: str) -> None:
    """The provider's own sign-in page and its consent page, as a person fills them in."""
    page.get_by_role("link", name="Inloggen met uw gemeenteaccount").click()
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the provider's development pages")
    follow(page, page.get_by_role("button", name="Sign-in"))
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()


def test_a_client_manager_signs_in_with_the_municipality_account(
    with_provider: WithProvider, visitor: Any
) -> None:
    visitor.goto(with_provider.address("/today"))
    assert visitor.url.startswith(with_provider.address("/signin"))
    assert visitor.locator("input[type=password]").count() == 0  # no accounts with a password
    check_accessible(visitor, "console-signin-provider")
    visitor.set_viewport_size({"width": 390, "height": 844})  # a phone
    visitor.screenshot(path=str(SCREENSHOTS / "console-signin-provider-390.png"), full_page=True)
    visitor.set_viewport_size({"width": 1280, "height": 800})
    _through_provider(visitor, "kdejong")
    assert visitor.url == with_provider.address("/today")  # the page asked for
    assert "K. de Jong" in visitor.locator("header").inner_text()
    assert ("K. de Jong", "client-manager", 1) in with_provider.accounts()

    visitor.get_by_role("button", name="Afmelden").click()  # out of the provider's session too
    follow(visitor, visitor.get_by_role("button", name="Yes, sign me out"))
    assert visitor.url.startswith(with_provider.address("/signin"))
    visitor.goto(with_provider.address("/"))
    assert visitor.url.startswith(with_provider.address("/signin"))


def test_a_policy_officer_gets_the_role_the_group_gives(
    with_provider: WithProvider, visitor: Any
) -> None:
    visitor.goto(with_provider.address("/"))
    _through_provider(visitor, "rsmit")
    assert visitor.url == with_provider.address("/cohort")
    assert ("R. Smit", "policy-officer", 1) in with_provider.accounts()


def test_no_group_no_role_refused_in_words_and_nothing_made(
    with_provider: WithProvider, visitor: Any
) -> None:
    visitor.goto(with_provider.address("/signin"))
    _through_provider(visitor, "tbos")
    assert "geen rol" in visitor.locator("main").inner_text()
    assert all(name != "T. Bos" for name, _, _ in with_provider.accounts())


def test_an_answer_not_for_this_sign_in_is_refused_in_words(
    with_provider: WithProvider, visitor: Any
) -> None:
    answer = visitor.goto(with_provider.address("/signin/provider/back?code=made-up&state=forged"))
    assert answer.status == 401
    assert "niet gelukt" in visitor.locator("main").inner_text()
