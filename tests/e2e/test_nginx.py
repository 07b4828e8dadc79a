"""docs/deploy/nginx.conf, run for real: nginx in front of two instances on PostgreSQL.

Only the ports and the prefix change; everything else is the documented file.
Without nginx on the machine the test skips (under CI it fails: .ci/run
installs nginx).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import free_port
from tests import postgres
from tests.deployment import Deployment, deployed
from tests.helpers import profile_token

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
CONFIG = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"
JOSE = {"Content-Type": "application/jose"}


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set, but nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    return found


@pytest.fixture
def fronted(tmp_path: Path, pg_databases: postgres.Databases) -> Iterator[tuple[str, Deployment]]:
    binary = _nginx()
    ports = [free_port(), free_port()]
    listen = free_port()
    text = CONFIG.read_text()
    for documented, actual in (("8081", ports[0]), ("8082", ports[1]), ("8080", listen)):
        assert f"127.0.0.1:{documented}" in text
        text = text.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    # The test's temporary folder is private to its user; in a deployment the
    # prefix belongs to nginx's own user. Bodies over 16 KiB are spooled there.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(text + "\ndaemon off;\n" + user)
    with deployed(tmp_path, pg_databases.fresh(), instances=2, ports=ports) as deployment:
        with open(prefix / "stderr.log", "wb") as log:
            proc = subprocess.Popen(
                [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                stdout=log,
                stderr=log,
            )
        url = f"http://127.0.0.1:{listen}"
        try:
            for _ in range(100):
                try:
                    if requests.get(url + "/v1/health", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.05)
            else:
                raise RuntimeError("nginx did not come up")
            yield url, deployment
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_nginx_spreads_intake_survives_a_dead_instance_and_keeps_problem_documents(
    fronted: tuple[str, Deployment],
) -> None:
    url, deployment = fronted
    coa = deployment.cast.client(demo.COA)
    tokens = [profile_token(coa, 50_000 + i)[0] for i in range(40)]
    with requests.Session() as session:
        for token in tokens[:20]:
            assert session.post(url + "/v1/messages", data=token, headers=JOSE).status_code == 202
        deployment.servers[0].kill()  # one instance dies: nginx goes to the other
        for token in tokens[20:]:
            assert session.post(url + "/v1/messages", data=token, headers=JOSE).status_code == 202
        again = session.post(url + "/v1/messages", data=tokens[0], headers=JOSE)
        assert again.status_code == 200  # a retry through nginx is a repeat

        # The gateway's own 413 (problem+json), not nginx's page: its limit is higher.
        big = session.post(url + "/v1/messages", data=b"a" * (300 * 1024), headers=JOSE)
        assert big.status_code == 413
        assert big.headers["Content-Type"] == "application/problem+json"
        assert big.json()["code"] == "payload-too-large"

        batch = session.post(
            url + "/v1/messages:batch",
            data=json.dumps({"messages": tokens[:5]}),
            headers={"Content-Type": "application/json"},
        )
        assert [r["status"] for r in batch.json()["results"]] == [200] * 5

    assert storage_of(deployment.services).count("messages") == 40
    verified = deployment.verify(url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _slow_clients(port: int, count: int, *, body: bool) -> list[socket.socket]:
    """``count`` connections that started a request and then trickle it: the headers
    (``body`` False) or, after whole headers, a long body."""
    held = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        if body:
            conn.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: gateway\r\n"
                b"Content-Type: application/jose\r\nContent-Length: 200000\r\n\r\n"
            )
        else:
            conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: gateway\r\n")
        held.append(conn)
    return held


def test_slow_clients_do_not_starve_the_others(fronted: tuple[str, Deployment]) -> None:
    url, deployment = fronted
    port = int(url.rsplit(":", 1)[1])
    held = _slow_clients(port, 100, body=False) + _slow_clients(port, 100, body=True)
    coa = deployment.cast.client(demo.COA)
    tokens = [profile_token(coa, 52_000 + i)[0] for i in range(40)]
    timings, statuses = [], []
    try:
        deadline = time.monotonic() + 8  # bounded: the slow ones trickle for 8 s
        sent = 0
        with requests.Session() as session:
            while time.monotonic() < deadline and sent < len(tokens):
                for conn in held:  # one more byte from each slow client
                    with contextlib.suppress(OSError):
                        conn.sendall(b"x")
                started = time.monotonic()
                answer = session.post(url + "/v1/messages", data=tokens[sent], headers=JOSE,
                                      timeout=5)  # fmt: skip
                timings.append(time.monotonic() - started)
                statuses.append(answer.status_code)
                sent += 1
                time.sleep(0.1)
    finally:
        for conn in held:
            conn.close()
    assert statuses == [202] * len(statuses) and len(statuses) >= 30
    timings.sort()
    p99 = timings[int(0.99 * (len(timings) - 1))]
    assert p99 < 1.0, f"probe p99 {p99:.3f} s with 200 slow clients"
    assert storage_of(deployment.services).count("messages") == len(statuses)  # nothing lost


def test_nginx_keeps_metrics_from_the_parties(fronted: tuple[str, Deployment]) -> None:
    url, _ = fronted
    assert requests.get(url + "/metrics", timeout=5).status_code == 403
