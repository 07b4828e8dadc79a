"""A commit whose answer is lost: 503 "outcome unknown", and the same bytes again get 200.

The database commits the message and its audit entry, then the connection
dies before the gateway hears so. The gateway cannot know; it says that the
outcome is unknown, and the sender's retry of the same bytes finds the
message stored and gets its receipt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, make_url

from gateway.bootstrap import storage_of, with_checkpointer
from gateway.devtools import demo
from gateway.domain.wire import envelope
from gateway.service import limits
from gateway.service.services import Services
from gateway.web.app import create_app
from tests.helpers import profile_token

JOSE = {"Content-Type": "application/jose"}


def _lose_the_next_commit_answer(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    engine: Any = storage_of(services).engine
    dialect = engine.dialect
    real, armed = dialect.do_commit, {"on": True, "write": False}

    @event.listens_for(engine, "commit")
    def before_commit(conn: Any) -> None:  # only a write transaction's commit is lost
        armed["write"] = bool(conn.get_execution_options().get("gateway_write"))

    url = make_url(services.settings.database_url)
    admin = None if url.get_backend_name() == "sqlite" else create_engine(url)

    def commit_then_die(dbapi_connection: Any) -> None:
        real(dbapi_connection)
        if not (armed["on"] and armed["write"]):
            return
        armed["on"] = False
        if admin is not None:  # kill the server side of the connection, for real
            pid = dbapi_connection.driver_connection.info.backend_pid
            with admin.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            admin.dispose()
        raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dialect, "do_commit", commit_then_die)


def test_the_retry_after_a_lost_commit_gets_the_stored_receipt(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast = demo.register_cast(services, "http://127.0.0.1", datetime.now(UTC))
    token, _ = profile_token(cast.client(demo.COA), 4200)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    before = storage_of(services).count("messages")

    # COA's rate-limit lease is a write of its own: taken now, so that the commit lost is
    # the message's (the lease then lasts the second this test needs).
    limits.admit(services, demo.COA, datetime.now(UTC))
    _lose_the_next_commit_answer(services, monkeypatch)
    lost = client.post("/v1/messages", data=token, headers=JOSE)
    assert lost.status_code == 503 and lost.headers["Retry-After"]
    problem = lost.get_json()
    assert problem["code"] == "unavailable" and "outcome is unknown" in problem["detail"]
    assert "send the same bytes again" in problem["detail"]

    # As the connectors do: again while 503. A pooled connection killed with the
    # lost one may fail once more (there is no pre-ping), then the pool is fresh.
    for _ in range(3):
        retry = client.post("/v1/messages", data=token, headers=JOSE)
        if retry.status_code != 503:
            break
    assert retry.status_code == 200
    receipt = envelope.parse(retry.get_json()["receipt"].encode(), typ=envelope.RECEIPT_TYP)
    message_id = envelope.verify(receipt, services.signer.key).payload["message_id"]
    stored = storage_of(services).find_message(message_id)
    assert stored is not None and retry.get_json()["receipt"] == stored.receipt
    assert storage_of(services).count("messages") == before + 1
    accepted = [
        e
        for e in storage_of(services).audit.entries()
        if e["entry"]["event"] == "message.accepted" and e["entry"]["message_id"] == message_id
    ]
    assert len(accepted) == 1
