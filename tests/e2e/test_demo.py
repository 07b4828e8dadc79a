"""The README's first command: the demo runs against the real server and exits 0."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.client import wire

pytestmark = pytest.mark.e2e


def test_demo_runs_the_scenario_and_every_outcome_matches() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--keep"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    kept = re.search(r"^kept (\S+):", out.stdout, re.MULTILINE)
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "all outcomes as the contract says" in out.stdout
        assert "!!" not in out.stdout
        # It fits a 100-column terminal, and every step says why its outcome is right.
        lines = out.stdout.splitlines()
        assert max(len(line) for line in lines) <= 100
        part2 = out.stdout.split("2. The contract")[1].split("messages stored")[0].splitlines()
        rows = [line for line in part2 if re.match(r"\d+ ", line)]
        whys = [line for line in part2 if line.strip().startswith("why: ")]
        assert len(rows) == len(whys) >= 20
        # It ends with Leiden's signals: a forecast with a newcomer behind the plan and
        # one without a plan, each with the reason a client manager reads.
        regie = out.stdout.split("4. Regie")[1]
        assert "behind plan    20 of about 55 hours expected by now" in regie
        # the samples' newcomers were linked before the demo (koppelingsdatum): the clock
        # runs from that day, so how long ago depends on the day the demo runs
        assert re.search(r"no plan        placed \d{3,} days ago, no plan", regie)
        # --keep keeps what one needs to carry on: the instance and each party's key.
        assert kept is not None
        folder = Path(kept.group(1))
        assert (folder / "instance").is_dir()
        for name in ("coa", "provider", "leiden", "utrecht", "auditor"):
            path = folder / "keys" / f"{name}.jwk"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            wire.load_jwk_file(str(path), private=True)
        assert f"GATEWAY_KEY={folder}/keys/leiden.jwk" in out.stdout
    finally:
        if kept is not None:
            shutil.rmtree(kept.group(1), ignore_errors=True)


def test_the_demo_runs_behind_nginx_with_mutual_tls_when_asked() -> None:
    """``gateway demo --digikoppeling``: the documented nginx config in front, every party
    connecting with a certificate of a test PKI in PKIoverheid's shape; the same outcomes."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (.ci/run installs it)")
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--digikoppeling"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "nginx with mutual TLS in front" in out.stdout
    assert re.search(r"^gateway running at https://127\.0\.0\.1:\d+ ", out.stdout, re.MULTILINE)
    assert "all outcomes as the contract says" in out.stdout and "!!" not in out.stdout
