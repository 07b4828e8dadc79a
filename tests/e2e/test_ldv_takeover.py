"""The logbook's exporter SIGKILLed while messages flow: another worker takes its lease
over, every processing still gets its record, and no record is a different one twice.

The worker that holds the lease is named by it (``host:pid:…``); gunicorn starts a
new worker in its place, and either worker may take the lease once it runs out.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.service.ldvexport import LEASE
from gateway.storage import engine, tables
from gateway.storage.store import Store
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


def _holder(store: Store) -> int | None:
    with engine.read(store.engine) as conn:
        holder = conn.execute(
            select(tables.leases.c.holder).where(tables.leases.c.name == LEASE)
        ).scalar()
    return None if holder is None else int(str(holder).split(":")[1])


def _caught_up(store: Store, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while store.ldv.pending(10**6).start < store.audit.size():
        assert time.monotonic() < deadline, "the logbook did not catch up"
        time.sleep(0.05)


def test_a_killed_exporter_is_taken_over_and_every_record_is_written(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    with ServerProcess(instance, workers=2, threads=2) as server:
        services = services_for(instance)
        store = storage_of(services)
        try:
            cast = demo.register_cast(services, server.url, datetime.now(UTC))
            coa = cast.client(demo.COA)
            tokens = [profile_token(coa, seed)[0] for seed in range(4000, 4220)]
            statuses: list[int] = []

            def send(batch: list[str]) -> None:
                """As a connector sends: the same bytes again when the connection broke
                (the killed worker held it), so a repeat answers 200."""
                for token in batch:
                    for _ in range(5):
                        try:
                            answer = requests.post(server.url + "/v1/messages", data=token,
                                                   headers=JOSE, timeout=30)  # fmt: skip
                        except requests.ConnectionError:
                            continue
                        statuses.append(answer.status_code)
                        break

            send(tokens[:20])
            _caught_up(store)
            killed = _holder(store)
            assert killed is not None and killed != os.getpid()
            flowing = threading.Thread(target=send, args=(tokens[20:],))
            flowing.start()
            while len(statuses) < 40 and flowing.is_alive():  # killed mid-flow, for sure
                time.sleep(0.01)
            os.kill(killed, signal.SIGKILL)
            flowing.join(timeout=120)
            assert len(statuses) == 220 and set(statuses) <= {200, 202}  # none refused (503)
            _caught_up(store)
            assert _holder(store) not in (None, killed)
            entries = [e["entry"] for e in store.audit.entries() if e["entry"]["subject"]]
        finally:
            store.engine.dispose()
    records = [json.loads(line) for line in (instance / "ldv.jsonl").read_text().splitlines()]
    by_span: dict[str, list[dict[str, object]]] = {}
    for record in records:
        by_span.setdefault(str(record["span_id"]), []).append(record)
    assert set(by_span) == {entry["span_id"] for entry in entries}
    assert all(copy == same[0] for same in by_span.values() for copy in same)
