"""The operator guide's walkthrough (docs/walkthrough.sh) works as written."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import WALKTHROUGH, WALKTHROUGH_SHELL, Walked

pytestmark = pytest.mark.e2e


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
