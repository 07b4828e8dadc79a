"""The operator's first commands on a machine where nothing exists yet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_db_upgrade_makes_the_instance_folder_of_a_new_deployment(tmp_path: Path) -> None:
    instance = tmp_path / "not" / "there" / "yet"
    env = {**os.environ, "GATEWAY_INSTANCE": str(instance)}
    env.pop("GATEWAY_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (instance / "gateway.db").exists()
