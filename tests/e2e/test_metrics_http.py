"""GET /metrics across the workers of one server: counts summed, gauges from the database,
and no newcomer in any label."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[tuple[ServerProcess, demo.Cast]]:
    with ServerProcess(
        tmp_path / "instance", workers=2, threads=2, env={"GATEWAY_METRICS": "on"}
    ) as server:
        services = services_for(server.instance)
        yield server, demo.register_cast(services, server.url, datetime.now(UTC))
        storage_of(services).engine.dispose()


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def test_metrics_sum_the_workers_and_name_no_newcomer(
    metered: tuple[ServerProcess, demo.Cast],
) -> None:
    server, cast = metered
    before = _samples(requests.get(f"{server.url}/metrics", timeout=5).text)
    coa = cast.client(demo.COA)
    for i in range(10):
        token = profile_token(coa, 41_000 + i)[0]
        assert requests.post(f"{server.url}/v1/messages", data=token, headers=JOSE,
                             timeout=5).status_code == 202  # fmt: skip
    refused = requests.post(f"{server.url}/v1/messages", data="x.y.z", headers=JOSE, timeout=5)
    assert refused.status_code == 400
    for _ in range(20):  # a new connection each: the kernel spreads them over the workers
        assert requests.get(f"{server.url}/v1/health", timeout=5).status_code == 200

    scraped = requests.get(f"{server.url}/metrics", timeout=5)
    assert scraped.status_code == 200 and scraped.headers["Content-Type"].startswith("text/plain")
    samples = _samples(scraped.text)
    health = 'gateway_requests_total{method="GET",route="/v1/health",status="200"}'
    assert samples[health] - before.get(health, 0) == 20  # the start's readiness probe too
    intake = 'gateway_requests_total{method="POST",route="/v1/messages",status="202"}'
    assert samples[intake] == 10
    assert samples['gateway_refusals_total{code="malformed"}'] == 1
    assert samples[f'gateway_inbox_backlog{{recipient="{demo.LEIDEN}"}}'] == 10
    assert samples["gateway_audit_tree_size"] > 10
    assert any(k.startswith("gateway_request_seconds_bucket") for k in samples)

    labels = re.findall(r'="([^"]*)"', scraped.text)
    assert labels and not [v for v in labels if re.fullmatch(r"[0-9]{9,10}|[0-9a-f]{64}", v)]


def test_metrics_are_off_unless_set(server: ServerProcess) -> None:
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 404
