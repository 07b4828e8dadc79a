"""The auditor's console with a witness policy (issue #31): its banner names the witnesses
that cosigned and the size they vouch for, in Chromium, at WCAG 2.1 AA.

The session's witnessed gateway (two witnesses, ``witness serve``), and the auditor's
console started with ``--policy`` naming both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.devtools.cast import AUDITOR
from gateway.devtools.serverproc import free_port
from tests.browser.conftest import check_accessible, start_console, stop, wait_for_first_round
from tests.e2e.witness_world import Deployment, cosigned_by_both, policy, until


def test_the_banner_names_the_witnesses_and_what_they_vouch_for(
    browser: Any, tmp_path: Path, witnessed: Deployment
) -> None:
    d = witnessed
    size = d.grow(3)
    until(lambda: cosigned_by_both(d, size), what="both witnesses cosign")
    auditor_policy = policy(d.folder, d.witnesses, "all", log_vkey=d.log_vkey)
    port = free_port()
    process, token = start_console(
        d.cast.url, AUDITOR, d.keys[AUDITOR], "auditor", "console",
        "--data", str(tmp_path / "console"), "--port", str(port), "--interval", "3600",
        "--policy", str(auditor_policy),
    )  # fmt: skip
    context = browser.new_context(locale="nl-NL", bypass_csp=True,
                                  viewport={"width": 1280, "height": 800})  # fmt: skip
    try:
        wait_for_first_round(process, [], prefix="verify:")
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/?token={token}")
        seen = page.locator("[data-witnessed]")
        assert seen.count() == 1, page.locator("main").inner_text()
        said = seen.inner_text()
        assert "medeondertekend door W0, W1" in said and "het quorum" in said
        assert int(str(seen.get_attribute("data-witnessed"))) >= size
        check_accessible(page, "auditor-witnessed")
    finally:
        context.close()
        stop(process)
