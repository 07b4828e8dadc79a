"""The operator guide's walkthrough (docs/walkthrough.sh) works as written, and a console
started after it names everyone it placed (issue #25).

Both tests start from one run of the walkthrough (``walked_through``, a session fixture):
in one file, so that the one test worker that runs them runs the walkthrough once.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.devtools.serverproc import ServerProcess, free_port
from tests.browser.conftest import start_console, stop, wait_for_first_round
from tests.conftest import WALKTHROUGH, WALKTHROUGH_SHELL, Walked

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "samples"


def test_the_walkthrough_runs_from_nothing_to_the_auditor(walked_through: Walked) -> None:
    out, tmp_path, env = walked_through.out, walked_through.work, walked_through.env
    assert "registered auditor 00000001800866472000" in out
    assert "accepted (202): 60" in out  # COA's export
    assert "assignments: 20 recorded, 0 refused" in out
    assert out.count("accepted (202): 20") == 1  # the provider's reports, all assigned
    assert "new: 51" in out and "new: 29" in out  # Leiden's and Utrecht's inboxes
    assert "31 newcomers placed with you" in out
    assert "1 request for 1 newcomer" in out
    assert "verified: " in out and "consistent: tree size" in out
    assert (tmp_path / "duo" / "manifest.json").exists()

    # Every step again, in the same folder (issue #25): nothing new is sent or recorded.
    before = _messages(tmp_path)
    again = subprocess.run(
        [WALKTHROUGH_SHELL, str(WALKTHROUGH)], env=env, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert _messages(tmp_path) == before, again.stdout[-3000:]
    assert "assignments: 0 recorded, 0 refused, 20 already receipted" in again.stdout
    assert "new: 0" in again.stdout


def _messages(work: Path) -> dict[str, int]:
    """The gateway's messages by type, and its newcomers' consent records."""
    with sqlite3.connect(work / "instance" / "gateway.db") as db:
        rows = db.execute("SELECT type, count(*) FROM messages GROUP BY type").fetchall()
        rows += db.execute("SELECT 'declarations', count(*) FROM consent_declarations").fetchall()
    return {str(kind): int(count) for kind, count in rows}


def test_after_the_readme_walkthrough_the_console_names_everyone_placed(
    page: Any, walked_through: Walked
) -> None:
    tmp_path = walked_through.work
    with open(SAMPLES / "coa-export.csv", newline="", encoding="utf-8") as rows:
        names = {
            row["identity.v_number"]: f"{row['identity.given_names']} {row['identity.family_name']}"
            for row in csv.DictReader(rows)
            if row["placement.municipality_code"] == "GM0546"
        }
    with open(SAMPLES / "assignments.csv", newline="", encoding="utf-8") as rows:
        first = next(csv.DictReader(rows))["v_number"]  # the walkthrough's consent
    with ServerProcess(tmp_path / "instance", workers=1, threads=4) as server:
        port = free_port()
        process, token = start_console(
            server.url, "00000001002220647000", tmp_path / "leiden.jwk", "municipality",
            "console", "--data", str(tmp_path / "console"), "--port", str(port),
            "--interval", "3600",
        )  # fmt: skip
        try:
            wait_for_first_round(process, [])
            page.goto(f"http://127.0.0.1:{port}/?token={token}")
            listed = page.locator("table.list tbody").inner_text()
            assert page.locator("table.list tbody tr").count() == len(names)
            assert "(naam niet geleverd)" not in listed
            assert all(name in listed for name in names.values())
            page.goto(f"http://127.0.0.1:{port}/newcomers/{first}")
            for category, state in [("identity", "shown"), ("education", "shown"),
                                    ("languages", "shown"), ("family", "withheld")]:  # fmt: skip
                found = page.locator(f"#profile [data-category={category}]")
                assert found.get_attribute("data-state") == state, category
        finally:
            stop(process)
