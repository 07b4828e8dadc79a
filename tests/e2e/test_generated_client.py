"""A client generated from the served OpenAPI document works against the real server.

openapi-python-client turns /openapi.json into a typed client; with a fresh
bearer assertion per call it lists the directory, pulls Leiden's inbox and
acknowledges a delivery: what an integrator does first.
"""

from __future__ import annotations

import importlib
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.devtools import demo, synthetic

pytestmark = pytest.mark.e2e
PACKAGE = "inburgering_gateway_client"


@pytest.fixture
def generated(server: Any, tmp_path: Path) -> Iterator[Any]:
    document = tmp_path / "openapi.json"
    document.write_bytes(requests.get(f"{server.url}/openapi.json", timeout=5).content)
    tool = Path(sys.executable).with_name("openapi-python-client")
    made = subprocess.run(
        [str(tool), "generate", "--path", str(document), "--meta", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (tmp_path / PACKAGE).is_dir(), made.stdout + made.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_generated_client_lists_pulls_and_acknowledges(
    generated: Any, server: Any, cast: demo.Cast
) -> None:
    client_module = importlib.import_module(f"{PACKAGE}.client")
    parties = importlib.import_module(f"{PACKAGE}.api.directory.list_parties")
    pull = importlib.import_module(f"{PACKAGE}.api.inbox.pull_inbox")
    ack = importlib.import_module(f"{PACKAGE}.api.inbox.acknowledge_delivery")

    def call(oin: str, operation: Any, *args: Any, **kw: Any) -> Any:
        """One call as ``oin``: each assertion is single use, so a client per call."""
        token = cast.client(oin).assertion()
        with client_module.AuthenticatedClient(base_url=server.url, token=token) as client:
            return operation(*args, client=client, **kw)

    listed = call(demo.AUDITOR, parties.sync)
    assert {p.oin for p in listed.parties} >= {demo.COA, demo.LEIDEN, demo.PROVIDER}

    rng = random.Random(40_100)
    person = synthetic.Newcomer.make(rng)
    coa = cast.client(demo.COA)
    assert coa.submit(coa.sign(demo.profile(person, rng, datetime.now(UTC)))).status == 202
    after, mine = 0, None
    for _ in range(100):  # bounded: pages of 500
        page = call(demo.LEIDEN, pull.sync, after=after, limit=500)
        mine = next((d for d in page.deliveries if d.subject.v_number == person.v_number), None)
        if mine is not None or len(page.deliveries) < 500:
            break
        after = page.next_cursor
    assert mine is not None and mine.type_ == "handover-profile"
    answered = call(demo.LEIDEN, ack.sync_detailed, mine.delivery_id)
    assert answered.status_code == 204
