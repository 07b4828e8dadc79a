"""Rate limits over HTTP: 429 with Retry-After past a party's bucket, across two workers;
the COA connector waits and finishes its export with every row receipted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from connectors.common.client import GatewayClient
from gateway.devtools import demo, duostandin, samplefiles
from gateway.devtools.serverproc import ServerProcess
from gateway.errors import RateLimited
from tests.conftest import services_for
from tests.e2e.test_true_facts_http import Case
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[ServerProcess, demo.Cast, dict[str, Path]]]:
    limits = f"{demo.COA}=0.5:2,{demo.DUO}=0.01:2"
    env = {"GATEWAY_RATE_LIMITS": limits, "GATEWAY_METRICS": "on"}
    with ServerProcess(tmp_path / "instance", workers=2, threads=2, env=env) as server:
        cast = demo.register_cast(services_for(server.instance), server.url, datetime.now(UTC))
        yield server, cast, write_keys(cast, tmp_path / "keys")


def test_past_its_bucket_a_party_gets_429_with_retry_after_and_others_do_not(
    limited: tuple[ServerProcess, demo.Cast, dict[str, Path]],
) -> None:
    server, cast, _ = limited
    coa = cast.client(demo.COA)
    answers = [
        requests.get(server.url + "/v1/parties", timeout=10,
                     headers={"Authorization": f"Bearer {coa.assertion()}"})
        for _ in range(4)
    ]  # fmt: skip
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate-limited"
    with pytest.raises(RateLimited):
        GatewayClient(server.url, demo.COA, cast.keys[demo.COA], retries=0).directory()
    leiden = cast.client(demo.LEIDEN)
    assert all(leiden.directory() for _ in range(5))  # its own bucket, the default limit
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert 'gateway_refusals_total{code="rate-limited"}' in metrics


def test_a_duo_notification_costs_duo_one_token(
    limited: tuple[ServerProcess, demo.Cast, dict[str, Path]],
) -> None:
    _, cast, _ = limited
    case = Case(cast, 34001)
    assert case.place() == 202
    when = datetime.now(UTC) - timedelta(days=1)
    duo = cast.client(demo.DUO)
    statuses = [
        duostandin.notify(duo, demo.LEIDEN, case.person.v_number, "SS139", when).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]  # a burst of 2: two notifications, not one


def test_the_coa_connector_finishes_its_export_under_a_low_limit(
    limited: tuple[ServerProcess, demo.Cast, dict[str, Path]], tmp_path: Path
) -> None:
    server, cast, keys = limited
    coa = cast.client(demo.COA)
    for _ in range(3):  # COA's bucket emptied first: the connector has to wait its turn
        requests.get(server.url + "/v1/parties", timeout=10,
                     headers={"Authorization": f"Bearer {coa.assertion()}"})  # fmt: skip
    before = _limited(server)
    receipts = tmp_path / "coa.receipts.jsonl"
    done = connector(server.url, demo.COA, keys[demo.COA], "coa",
                     str(samplefiles.SAMPLES / "coa-export.csv"), "--receipts", str(receipts),
                     "--workers", "1", timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [json.loads(line) for line in receipts.read_text().splitlines()[1:]]
    assert len({r["row"] for r in rows if r.get("receipt")}) == 60
    assert _limited(server) > before  # it was told 429 on the way, and waited


def _limited(server: ServerProcess) -> float:
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith('gateway_refusals_total{code="rate-limited"}'):
            return float(line.split()[-1])
    return 0.0
