"""Crash safety: SIGKILL right after a receipt loses nothing and duplicates nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import envelope
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


def test_receipted_messages_survive_sigkill_and_retries_do_not_duplicate(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    server = ServerProcess(instance, workers=2, threads=2).start()
    try:
        services = services_for(instance)

        store = storage_of(services)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        coa = cast.client(demo.COA)
        tokens = [profile_token(coa, seed)[0] for seed in range(1000, 1040)]
        receipts: dict[str, dict[str, Any]] = {}
        for i, token in enumerate(tokens[:25]):
            response = requests.post(
                server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
            )
            assert response.status_code == 202
            receipts[token] = coa.verify_gateway_token(
                response.json()["receipt"], envelope.RECEIPT_TYP
            )
            if i == 24:
                server.kill()  # at once after the 25th receipt: no graceful shutdown
    finally:
        server.kill()

    with ServerProcess(instance, port=server.port, workers=2, threads=2):
        store = storage_of(services_for(instance))
        for receipt in receipts.values():
            index = receipt["audit"]["index"]
            entry = store.audit.entries(index, index + 1)[0]
            assert entry["leaf_hash"] == receipt["audit"]["leaf_hash"]
            assert entry["entry"]["message_id"] == receipt["message_id"]
            assert store.find_message(str(receipt["message_id"])) is not None
        # The client retries everything it sent (and sends the rest): no duplicates.
        statuses = [
            requests.post(server.url + "/v1/messages", data=t, headers=JOSE, timeout=10).status_code
            for t in tokens
        ]
        assert statuses == [200] * 25 + [202] * 15
        assert store.count("messages") == 40
        accepted = [e for e in store.audit.entries() if e["entry"]["event"] == "message.accepted"]
        assert len(accepted) == 40
        assert [e["index"] for e in store.audit.entries()] == list(
            range(store.count("audit_entries"))
        )
