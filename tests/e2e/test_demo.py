"""The README's first command: the demo runs against the real server and exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_the_scenario_and_every_outcome_matches() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all outcomes as the contract says" in out.stdout
    assert "!!" not in out.stdout
    # It ends with Leiden's signals: a forecast with a newcomer behind the plan and
    # one without a plan, each with the reason a client manager reads.
    regie = out.stdout.split("4. Regie")[1]
    assert "behind plan    20 of about 55 hours expected by now" in regie
    assert "no plan        placed 99 days ago, no plan" in regie
