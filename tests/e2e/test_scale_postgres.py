"""Two gateway instances on one PostgreSQL database, as deployed behind a load balancer.

Concurrent single and batch intake and two leased pullers through both
instances; then the same with one instance SIGKILLed in the middle. After
each: every receipted message stored once, every delivery handed out once
while leased, audit indices without a gap, and a log the offline verifier accepts.
And the verifier names tampering done in the PostgreSQL database itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.common.client import GatewayClient
from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.domain.wire import envelope
from gateway.errors import GatewayError
from tests import postgres
from tests.deployment import Deployment, deployed
from tests.helpers import profile_token

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JOSE = {"Content-Type": "application/jose"}
LEASE = 120


@pytest.fixture
def deployment(tmp_path: Path, pg_databases: postgres.Databases) -> Iterator[Deployment]:
    with deployed(tmp_path, pg_databases.fresh(), instances=2) as started:
        yield started


@dataclass
class Load:
    """What the clients saw: receipts by message id, deliveries by puller."""

    receipts: dict[str, str] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    intake_done: threading.Event = field(default_factory=threading.Event)


def _post_until_receipted(urls: list[str], token: str, message_id: str, load: Load) -> None:
    """Send to the instances in turn until one gives a receipt (a failover client)."""
    for attempt in range(60):
        url = urls[attempt % len(urls)]
        try:
            response = requests.post(url + "/v1/messages", data=token, headers=JOSE, timeout=10)
        except requests.RequestException:
            continue
        if response.status_code in (200, 202):
            with load.lock:
                load.receipts[message_id] = response.json()["receipt"]
            return
        assert response.status_code == 503, response.text
        time.sleep(0.1)
    raise AssertionError("no instance took the message")


def _batch_until_receipted(urls: list[str], tokens: list[tuple[str, str]], load: Load) -> None:
    body = json.dumps({"messages": [t for t, _ in tokens]})
    for attempt in range(60):
        url = urls[attempt % len(urls)]
        try:
            response = requests.post(
                url + "/v1/messages:batch",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
        except requests.RequestException:
            continue
        if response.status_code == 200:
            results = response.json()["results"]
            assert {r["status"] for r in results} <= {200, 202}, results
            with load.lock:
                for (_, message_id), result in zip(tokens, results, strict=True):
                    load.receipts[message_id] = result["receipt"]
            return
        assert response.status_code == 503, response.text
        time.sleep(0.1)
    raise AssertionError("no instance took the batch")


def _puller(clients: list[GatewayClient], load: Load) -> None:
    """Pull with a lease and acknowledge, until intake is over and the inbox is empty.

    Like a real puller behind a load balancer, it goes to the other instance
    when one does not answer, for pulls and for acks alike.
    """
    turn = 0
    while True:
        finished = load.intake_done.is_set()
        try:
            page = clients[turn % 2].get_json("/v1/inbox", after=0, limit=50, lease=LEASE)
        except GatewayError:
            turn += 1
            continue
        for delivery in page["deliveries"]:
            with load.lock:
                load.delivered.append(delivery["message_id"])
            for attempt in range(20):
                try:
                    clients[(turn + attempt) % 2].ack(delivery["delivery_id"])
                    break
                except GatewayError:
                    continue
        if finished and not page["deliveries"]:
            return


def _message_id(token: str) -> str:
    return str(json.loads(envelope.b64url_decode(token.split(".")[1]))["message_id"])


def _run_load(deployment: Deployment, *, kill_after: float | None = None) -> Load:
    coa = deployment.cast.client(demo.COA)
    urls = [server.url for server in deployment.servers]
    singles = [profile_token(coa, 30_000 + i) for i in range(160)]
    batched = [profile_token(coa, 40_000 + i) for i in range(400)]
    ids = {token: _message_id(token) for token, _ in singles + batched}
    load = Load()
    pullers = []
    key = deployment.cast.keys[demo.LEIDEN]
    for i in range(2):
        clients = [GatewayClient(url, demo.LEIDEN, key, retries=1) for url in urls[i:] + urls[:i]]
        pullers.append(threading.Thread(target=_puller, args=(clients, load)))

    def post_each(part: list[tuple[str, Any]]) -> None:
        for t, _ in part:
            _post_until_receipted(urls, t, ids[t], load)

    def batch_each(part: list[tuple[str, Any]]) -> None:
        for j in range(0, len(part), 50):
            _batch_until_receipted(urls, [(t, ids[t]) for t, _ in part[j : j + 50]], load)

    senders = [threading.Thread(target=post_each, args=(singles[i::4],)) for i in range(4)] + [
        threading.Thread(target=batch_each, args=(batched[i::2],)) for i in range(2)
    ]
    for thread in senders + pullers:
        thread.start()
    if kill_after is not None:
        time.sleep(kill_after)
        deployment.servers[0].kill()
    for thread in senders:
        thread.join()
    load.intake_done.set()
    for thread in pullers:
        thread.join(timeout=120)
    assert len(load.receipts) == len(singles) + len(batched)
    return load


def _assert_nothing_lost_or_doubled(deployment: Deployment, load: Load) -> None:
    store = storage_of(deployment.services)
    assert store.count("messages") == len(load.receipts)
    # Each delivery handed out once. A page whose answer died with its instance
    # stays leased: still in the inbox, for the next pull after the lease.
    assert len(load.delivered) == len(set(load.delivered))
    after_lease = datetime.now(UTC) + timedelta(seconds=LEASE + 1)
    waiting = store.inbox.pending(demo.LEIDEN, 0, 10_000, after_lease)
    assert sorted(load.delivered + [p.message_id for p in waiting]) == sorted(load.receipts)
    coa = deployment.cast.client(demo.COA)
    indices = set()
    for message_id, receipt in load.receipts.items():
        payload = coa.verify_gateway_token(receipt, "inburgering-receipt+jws")
        assert payload["message_id"] == message_id
        indices.add(payload["audit"]["index"])
    assert len(indices) == len(load.receipts)  # no two receipts name one entry
    entries = [e["index"] for e in store.audit.entries()]
    assert entries == list(range(len(entries)))
    verified = deployment.verify()
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_two_instances_share_one_database_without_loss_duplicates_or_gaps(
    deployment: Deployment,
) -> None:
    load = _run_load(deployment)
    _assert_nothing_lost_or_doubled(deployment, load)
    assert sorted(load.delivered) == sorted(load.receipts)  # with no kill, every one pulled


def test_an_instance_killed_under_load_loses_nothing_that_was_receipted(
    deployment: Deployment,
) -> None:
    load = _run_load(deployment, kill_after=1.0)
    assert deployment.servers[0].proc is not None
    assert deployment.servers[0].proc.poll() is not None  # it really died
    _assert_nothing_lost_or_doubled(deployment, load)


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (
            "UPDATE audit_entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
            "'\"ok\"', '\"OK\"'), 'UTF8') WHERE idx = 5",
            "entry 5: its bytes do not hash to its leaf hash",
        ),
        ("DELETE FROM audit_entries WHERE idx = 7", "entry 7 is missing"),
    ],
    ids=["one byte changed", "one entry deleted"],
)
def test_tampering_with_the_log_on_postgresql_is_named_by_the_verifier(
    deployment: Deployment, tamper: str, named: str
) -> None:
    coa = deployment.cast.client(demo.COA)
    for seed in range(6):
        token, _ = profile_token(coa, 60_000 + seed)
        response = requests.post(
            deployment.servers[0].url + "/v1/messages", data=token, headers=JOSE, timeout=10
        )
        assert response.status_code == 202
    assert deployment.verify().returncode == 0  # signs checkpoints over the untouched log
    with storage_of(deployment.services).engine.begin() as conn:
        conn.exec_driver_sql(tamper)
    result = deployment.verify()
    assert result.returncode == 2
    assert "NOT VERIFIED" in result.stderr and named in result.stderr
