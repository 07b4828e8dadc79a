"""The primary's machine dies under load; the synchronous standby takes over (issue #33).

Two gateway instances on a primary with a synchronous standby (``tests/standby.py``),
their database URL naming both hosts with ``target_session_attrs=read-write`` (libpq
finds the writable one, so the instances follow a promotion without a restart). COA
sends while the primary's processes are SIGKILLed and its data directory removed; the
standby is promoted at once, as Patroni would. Half a second before, the standby's WAL
receiver is stopped (a slow link): with synchronous commit the primary's commits wait for
it and no 202 goes out; without (``FAILOVER_ASYNC=1``, tried: the test then fails, the
messages receipted in that half second are not on the standby). Afterwards: every message that got a
receipt is in the log once, at the index its receipt names; the log has no gap and the
offline verifier accepts it; no answer during the switch was a 500 (a 503 with
Retry-After, which the sender retries). The recovery time, from the primary's death to
the first 202 the standby committed, is printed for docs/deploy.md.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select

from gateway.bootstrap import migrate_database
from gateway.devtools import demo
from gateway.domain.wire import envelope
from gateway.storage import tables
from tests.deployment import Deployment, deployed
from tests.helpers import profile_token
from tests.standby import Pair

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JOSE = {"Content-Type": "application/jose"}
SENDERS = 4


@dataclass
class Seen:
    receipts: dict[str, str] = field(default_factory=dict)
    """message id → the receipt (JWS) it got"""
    statuses: list[int] = field(default_factory=list)
    first_after: float | None = None
    """monotonic time of the first receipt for a request sent after the primary was lost"""
    lost_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def pair() -> Iterator[Pair]:
    started = Pair(synchronous=os.environ.get("FAILOVER_ASYNC") != "1").start()
    migrate_database(started.url)  # the operator's `gateway db upgrade`
    try:
        yield started
    finally:
        started.close()


def _send(urls: list[str], token: str, message_id: str, seen: Seen) -> None:
    """As a connector sends: again until a receipt, to either instance, after a 503's wait."""
    for attempt in range(200):
        sent = time.monotonic()
        try:
            response = requests.post(urls[attempt % len(urls)] + "/v1/messages", data=token,
                                     headers=JOSE, timeout=15)  # fmt: skip
        except requests.RequestException:
            time.sleep(0.1)
            continue
        with seen.lock:
            seen.statuses.append(response.status_code)
            if response.status_code in (200, 202):
                seen.receipts[message_id] = response.json()["receipt"]
                if seen.lost_at is not None and sent > seen.lost_at and seen.first_after is None:
                    seen.first_after = time.monotonic()
                return
        assert response.status_code == 503, response.text
        assert response.headers.get("Retry-After"), "a 503 says when to come back"
        time.sleep(0.2)
    raise AssertionError("no instance took the message")


def _load(deployment: Deployment, count: int, start: int, seen: Seen) -> list[threading.Thread]:
    coa = deployment.cast.client(demo.COA)
    tokens = []
    for i in range(count):
        token, _ = profile_token(coa, start + i)
        tokens.append((token, _message_id(token)))
    urls = [server.url for server in deployment.servers]

    def sender(part: list[tuple[str, str]]) -> None:
        for token, message_id in part:
            _send(urls, token, message_id, seen)

    threads = [threading.Thread(target=sender, args=(tokens[i::SENDERS],))
               for i in range(SENDERS)]  # fmt: skip
    for thread in threads:
        thread.start()
    return threads


def _message_id(token: str) -> str:
    return str(json.loads(envelope.b64url_decode(token.split(".")[1]))["message_id"])


def _stored(url: str) -> tuple[dict[str, int], list[int]]:
    """Message id → the index of its acceptance entry; every audit index, in order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            messages = tables.messages.c
            accepted = dict(conn.execute(select(messages.message_id, messages.audit_index)).all())
            entries = tables.audit_entries.c.idx
            indices = list(conn.scalars(select(entries).order_by(entries)))
            assert conn.scalar(select(func.count()).select_from(tables.messages)) == len(accepted)
    finally:
        engine.dispose()
    return accepted, indices


def test_the_standby_takes_over_and_every_receipted_message_is_there(
    tmp_path: Path, pair: Pair
) -> None:
    with deployed(tmp_path, pair.url, instances=2) as deployment:
        seen = Seen()
        senders = _load(deployment, 400, 50_000, seen)
        time.sleep(1.0)  # under load
        pair.hold_standby()  # behind by what the last half second committed, if it may be
        time.sleep(0.5)
        with seen.lock:
            before = len(seen.receipts)
            seen.lost_at = time.monotonic()
        pair.lose_primary()
        pair.cut_link()
        pair.promote()
        for thread in senders:
            thread.join(timeout=120)
        assert before > 20, "the load had not started"
        assert seen.first_after is not None
        print(f"\nrecovery: {seen.first_after - seen.lost_at:.2f} s from the primary's death "
              f"to the first 202 on the standby; {before} receipted before, "
              f"{len(seen.receipts)} in all, {seen.statuses.count(503)} answers 503")  # fmt: skip
        assert 500 not in seen.statuses
        accepted, indices = _stored(pair.url)
        assert indices == list(range(len(indices))), "a gap in the audit log"
        missing = [m for m in seen.receipts if m.lower() not in accepted]
        assert missing == [], f"{len(missing)} receipted message(s) lost in the failover"
        verified = deployment.verify()
        assert verified.returncode == 0, verified.stdout + verified.stderr
