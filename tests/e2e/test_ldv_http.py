"""Over real HTTP: an ``Fsc-Transaction-Id`` comes back, and is its LDV record's trace id;
a logbook that cannot be written holds what was accepted, refuses what comes after the
grace (503, nothing stored), and writes every record once it can."""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.common import inbox
from gateway.bootstrap import storage_of
from gateway.client import wire
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import database_env, server_env, services_for

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


def _uuid7() -> str:
    return wire.new_transaction_id(datetime.now(UTC))


def test_a_transaction_id_is_echoed_and_kept_as_the_records_trace_id(
    server: ServerProcess, cast: demo.Cast
) -> None:
    rng = random.Random(2807)
    profile = demo.profile(synthetic.Newcomer.make(rng), rng, datetime.now(UTC))
    transaction_id = _uuid7()
    response = requests.post(cast.url + "/v1/messages", data=cast.client(demo.COA).sign(profile),
                             headers={**JOSE, "Fsc-Transaction-Id": transaction_id},
                             timeout=30)  # fmt: skip
    assert response.status_code == 202, response.text
    assert response.headers["Fsc-Transaction-Id"] == transaction_id
    trace_id = transaction_id.replace("-", "")
    assert response.headers["traceparent"].split("-")[1] == trace_id
    mine = _records(server.instance / "ldv.jsonl", trace_id, count=1)
    assert [record["name"] for record in mine] == ["message.accepted"]


def _records(path: Path, text: str = "", *, count: int) -> list[dict[str, Any]]:
    """The records holding ``text``, once there are ``count`` (the exporter writes them
    within its period after the commit; 10 s at most here)."""
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        found = [json.loads(line) for line in lines if text in line]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _until(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_a_pull_signs_its_transaction_id_into_each_delivery(cast: demo.Cast) -> None:
    """What the gateway hands out carries the pull's transaction (FSC: every hop records
    it), signed with the rest, so the copy a municipality keeps leads to the pull's audit
    entry and LDV record; the connector sends one of its own when none is given."""
    rng = random.Random(2809)
    person = synthetic.Newcomer.make(rng)
    profile = demo.profile(person, rng, datetime.now(UTC))
    assert cast.client(demo.COA).submit(cast.client(demo.COA).sign(profile)).status == 202
    utrecht = cast.client(profile["recipient"])
    delivery, transaction_id = _find(utrecht, profile["message_id"], given=True)
    assert delivery["trace_id"] == transaction_id.replace("-", "")
    assert inbox.verified(utrecht, delivery)["trace_id"] == delivery["trace_id"]
    second, made = _find(utrecht, profile["message_id"], given=False)
    assert made != transaction_id  # the connector made one of its own
    assert second["trace_id"] == made.replace("-", "")
    read = utrecht.get_json(f"/v1/newcomers/{person.v_number}/profile")
    assert len(read["trace_id"]) == 32 and read["trace_id"] != second["trace_id"]


def _find(client: Any, message_id: str, *, given: bool) -> tuple[dict[str, Any], str]:
    """The delivery of ``message_id`` in the inbox (page by page: other tests share the
    server's inboxes), and the transaction id of the pull of the page that held it: one
    this test made (``given``) or the one the connector made and the answer echoed."""
    after = 0
    while True:
        headers = {"Fsc-Transaction-Id": _uuid7()} if given else {}
        answer = client.request("GET", "/v1/inbox", params={"limit": 500, "after": after},
                                authenticated=True, headers=headers)  # fmt: skip
        page = answer.json()
        found = [d for d in page["deliveries"] if d["message_id"] == message_id]
        if found:
            return found[0], answer.headers["Fsc-Transaction-Id"]
        assert len(page["deliveries"]) == 500, "the delivery is not in the inbox"
        after = page["next_cursor"]


def test_a_malformed_transaction_id_is_a_bad_request(cast: demo.Cast) -> None:
    response = requests.post(cast.url + "/v1/messages", data=b"x",
                             headers={**JOSE, "Fsc-Transaction-Id": str(uuid.uuid4())},
                             timeout=30)  # fmt: skip
    assert response.status_code == 400
    assert "UUIDv7" in response.json()["detail"]


def _repoint(link: Path, target: Path) -> None:
    """Make ``link`` a symbolic link to ``target``, replacing what was there at once."""
    fresh = link.with_name(link.name + ".new")
    fresh.symlink_to(target)
    os.replace(fresh, link)


def test_a_logbook_that_cannot_be_written_refuses_past_the_grace_and_loses_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The server resolves GATEWAY_LDV_PATH once, at start; the exporter opens it at each
    write. So the path, made a link to /dev/full (a full disk, for root too) after the
    start: the message sent then is stored (its audit entry is the record's copy), the
    health check and the next message are refused with the cause once the record has
    waited a grace second, and with a real file again both records are written, once."""
    link, real = tmp_path / "ldv.jsonl", tmp_path / "ldv-real.jsonl"
    env = {**database_env(backend, request), "GATEWAY_LDV_PATH": str(link),
           "GATEWAY_LDV_GRACE_SECONDS": "1"}  # fmt: skip
    with ServerProcess(tmp_path / "instance", workers=1, env=env) as server:
        services = services_for(server.instance, server_env(server))
        try:
            cast = demo.register_cast(services, server.url, datetime.now(UTC))
            rng = random.Random(2808)
            people = [synthetic.Newcomer.make(rng) for _ in range(2)]
            first, second = (cast.client(demo.COA).sign(demo.profile(p, rng, datetime.now(UTC)))
                             for p in people)  # fmt: skip
            store = storage_of(services)
            _until(lambda: store.ldv.pending(10**6).start == store.audit.size())
            _repoint(link, Path("/dev/full"))
            taken = requests.post(cast.url + "/v1/messages", data=first, headers=JOSE, timeout=30)
            assert taken.status_code == 202, taken.text
            health = cast.url + "/v1/health"
            _until(lambda: requests.get(health, timeout=30).status_code == 503)
            assert "disk full" in requests.get(health, timeout=30).json()["detail"]
            before = (store.count("audit_entries"), store.count("messages"))
            refused = requests.post(cast.url + "/v1/messages", data=second, headers=JOSE,
                                    timeout=30)  # fmt: skip
            assert refused.status_code == 503, refused.text
            assert refused.headers["Content-Type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) >= 1
            problem = refused.json()
            assert problem["code"] == "unavailable" and "Logboek" in problem["detail"]
            assert (store.count("audit_entries"), store.count("messages")) == before
            _repoint(link, real)
            _until(lambda: requests.get(health, timeout=30).status_code == 200)
            again = requests.post(cast.url + "/v1/messages", data=second, headers=JOSE,
                                  timeout=30)  # fmt: skip
            assert again.status_code == 202, again.text
            records = _records(real, "message.accepted", count=2)
        finally:
            storage_of(services).engine.dispose()
            server.kill()  # nothing is pending: no need to wait for a graceful stop
    assert [record["name"] for record in records] == ["message.accepted"] * 2
    subjects = [record["attributes"]["dpl.core.data_subject_id"] for record in records]
    assert subjects == [services.pseudonym(person.v_number) for person in people]
    assert all(person.v_number not in real.read_text() for person in people)
