"""The browser tests: Debian's Chromium driven by Playwright, never a downloaded browser.

A gateway of its own is seeded with Leiden's newcomers (``gateway demo --console``'s
seed), then Leiden's console runs as a subprocess, as a client manager starts it.
Every page is checked with axe-core (vendored) at WCAG 2.1 AA and photographed
at 1280x800 into ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.devtools import console_demo
from gateway.devtools.cast import LEIDEN, Cast, register_cast
from gateway.devtools.serverproc import ServerProcess, free_port
from tests.conftest import services_for
from tests.helpers import write_keys

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Debian's chromium the browser tests skip, but not in CI (``.ci/run``
    installs it): there they run, and fail."""
    if os.path.exists(CHROMIUM) or os.environ.get("CI"):
        return
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # bypass_csp: the console forbids every script; axe is injected by the test alone
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "locale": "nl-NL",
        "bypass_csp": True,
        "accept_downloads": True,
    }


@dataclass
class Console:
    url: str
    token: str
    process: subprocess.Popen[str]
    cast: Cast
    seeded: console_demo.Seeded
    data: Path
    output: list[str]
    """what the console printed (read all along, so its pipe never fills)"""
    keys: dict[str, Path]
    """each demo party's private key file, to start another console against the same gateway"""

    def address(self, path: str = "/") -> str:
        return f"{self.url}{path}"


def start_console(
    gateway: str, oin: str, key: Path, *args: str
) -> tuple[subprocess.Popen[str], str]:
    """``gateway connect <args>`` (a console) as its party starts it; (process, token)."""
    env = {**os.environ, "GATEWAY_URL": gateway, "GATEWAY_OIN": oin, "GATEWAY_KEY": str(key)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "connect", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"token=(\S+)", line)
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError("the console did not start")


def wait_for_first_round(
    process: subprocess.Popen[str], output: list[str], prefix: str = "pull:"
) -> None:
    """Until the console says its first round is done; then its output read all along."""
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        output.append(line)
        if line.startswith(prefix):
            threading.Thread(
                target=lambda: output.extend(process.stdout or ()), daemon=True
            ).start()
            return
    raise AssertionError("no first pull")


STAFF_NAME = "M. de Vries"
"""The (synthetic) client manager the console is started for (``--staff-name``)"""


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Leiden's console over a seeded gateway, once for the session: each test takes
    newcomers of its own from the seed."""
    tmp = tmp_path_factory.mktemp("console")
    with ServerProcess(tmp / "instance", workers=1, threads=4) as server:
        cast = register_cast(services_for(server.instance), server.url, datetime.now(UTC))
        seeded = console_demo.seed(cast, count=16)
        keys = write_keys(cast, tmp / "keys")
        port = free_port()
        process, token = start_console(
            server.url,
            LEIDEN,
            keys[LEIDEN],
            "municipality",
            "console",
            "--data",
            str(tmp / "data"),
            "--port",
            str(port),
            "--interval",
            "3600",
            "--staff-name",
            STAFF_NAME,
        )
        output: list[str] = []
        try:
            wait_for_first_round(process, output)
            yield Console(
                f"http://127.0.0.1:{port}", token, process, cast, seeded, tmp / "data", output, keys
            )
        finally:
            stop(process)


@pytest.fixture
def page(page: Any, console: Console) -> Any:
    """A page already admitted to the console (the token exchanged for its cookie)."""
    page.goto(console.address(f"/?token={console.token}"))
    return page


def follow(page: Any, target: Any) -> None:
    """Click ``target``, which loads another page, and return once that page has loaded.

    Playwright's click returns when a navigation has begun, and ``wait_for_load_state``
    right after it can still see the old page loaded: a ``count()`` then reads the page
    left behind (a CI run failed so on the plan's confirmation page)."""
    with page.expect_navigation():
        target.click()


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def check_accessible(page: Any, name: str) -> None:
    """axe-core at WCAG 2.1 AA on the page as it is now; then a screenshot named ``name``."""
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_AA,
    )
    problems = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert problems == []
