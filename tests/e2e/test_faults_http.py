"""Fault cases found from outside: each answered as the contract says, over HTTP.

A log that cannot be written changes no answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


def test_a_full_disk_under_the_log_changes_no_answer(tmp_path: Path) -> None:
    """stdout and stderr on /dev/full: every write fails with ENOSPC."""
    instance = tmp_path / "instance"
    with ServerProcess(instance, workers=2, threads=2, log=Path("/dev/full")) as server:
        assert requests.get(server.url + "/v1/health", timeout=5).status_code == 200
        cast = demo.register_cast(services_for(instance), server.url, datetime.now(UTC))
        coa = cast.client(demo.COA)
        statuses = [
            requests.post(
                server.url + "/v1/messages",
                data=profile_token(coa, 7000 + i)[0],
                headers=JOSE,
                timeout=10,
            ).status_code
            for i in range(100)
        ]
        refused = requests.post(server.url + "/v1/messages", data="x", headers=JOSE, timeout=10)
    assert statuses == [202] * 100
    assert refused.status_code == 400 and refused.json()["code"] == "malformed"


def test_a_locked_database_answers_503_and_is_counted_by_cause(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock longer than the busy timeout."""
    import sqlite3

    instance = tmp_path / "instance"
    env = {"GATEWAY_METRICS": "on", "GATEWAY_SQLITE_BUSY_TIMEOUT_MS": "200"}
    with ServerProcess(instance, workers=2, threads=2, env=env) as server:
        cast = demo.register_cast(services_for(instance), server.url, datetime.now(UTC))
        coa = cast.client(demo.COA)
        holder = sqlite3.connect(instance / "gateway.db", isolation_level=None, timeout=5)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            busy = requests.post(server.url + "/v1/messages", data=profile_token(coa, 7500)[0],
                                 headers=JOSE, timeout=10)  # fmt: skip
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        again = requests.post(server.url + "/v1/messages", data=profile_token(coa, 7500)[0],
                              headers=JOSE, timeout=10)  # fmt: skip
        metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert busy.status_code == 503 and busy.headers["Retry-After"]
    assert again.status_code in (200, 202)
    counted = [line for line in metrics.splitlines()
               if line.startswith("gateway_database_errors_total{")]  # fmt: skip
    assert any('cause="locked"' in line and float(line.split()[-1]) >= 1 for line in counted), (
        counted
    )
