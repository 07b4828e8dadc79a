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
