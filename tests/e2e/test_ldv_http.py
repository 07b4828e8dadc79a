"""Over real HTTP: an ``Fsc-Transaction-Id`` comes back, and is its LDV record's trace id."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime

import pytest
import requests

from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


def _uuid7() -> str:
    """A UUIDv7 as an FSC outway makes one: 48 bits of milliseconds, version 7, random."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (random.getrandbits(12) << 64)
    value |= (0b10 << 62) | random.getrandbits(62)
    return str(uuid.UUID(int=value))


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
    lines = (server.instance / "ldv.jsonl").read_text().splitlines()
    mine = [json.loads(line) for line in lines if trace_id in line]
    assert [record["name"] for record in mine] == ["message.accepted"]


def test_a_malformed_transaction_id_is_a_bad_request(cast: demo.Cast) -> None:
    response = requests.post(cast.url + "/v1/messages", data=b"x",
                             headers={**JOSE, "Fsc-Transaction-Id": str(uuid.uuid4())},
                             timeout=30)  # fmt: skip
    assert response.status_code == 400
    assert "UUIDv7" in response.json()["detail"]
