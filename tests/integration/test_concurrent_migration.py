"""Several processes starting on one fresh database migrate it once, not at the same time.

Found by CI: ``gateway serve &`` and ``gateway parties add`` right after it
(the operator's walkthrough) both ran a migration on a new SQLite file and
one failed with "table … already exists". The processes here import
everything first and then start together on a signal, to make them overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CODE = """
import os, sys, time
from gateway import config
from gateway.bootstrap import build_services
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.001)
build_services(config.from_env(), upgrade=True)
"""


def test_processes_starting_together_on_a_fresh_database_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):
        go = tmp_path / f"go-{attempt}"
        env = {**os.environ, "GATEWAY_INSTANCE": str(tmp_path / f"instance-{attempt}")}
        env.pop("GATEWAY_DATABASE_URL", None)
        runs = [
            subprocess.Popen([sys.executable, "-c", CODE, str(go)], env=env,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(6)
        ]  # fmt: skip
        time.sleep(3)  # every one has imported and waits
        go.touch()
        for run in runs:
            _, err = run.communicate(timeout=60)
            assert run.returncode == 0, err[-600:]
