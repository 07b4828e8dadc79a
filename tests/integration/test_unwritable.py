"""A database that cannot write: said once in the log with its cause, and by /v1/health.

SQLite's disk is "full" by a page cap on every connection; PostgreSQL's
database is made read-only. Intake answers 503, health says why, and both
recover without a restart once the database writes again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, make_url

from gateway.bootstrap import storage_of, with_checkpointer
from gateway.devtools import demo
from gateway.errors import ServiceUnavailable
from gateway.service import intake
from gateway.service.services import Services
from gateway.storage import engine as engine_module
from gateway.web.app import create_app
from tests.helpers import profile_payload


@contextmanager
def _unwritable(services: Services) -> Iterator[str]:
    """Writes fail until the block ends; yields the cause the gateway should name."""
    engine: Any = storage_of(services).engine
    url = make_url(services.settings.database_url)
    if url.get_backend_name() == "sqlite":
        capped = {"on": True}

        @event.listens_for(engine, "connect")
        def cap(dbapi: Any, _record: Any) -> None:
            if capped["on"]:
                pages = dbapi.execute("PRAGMA page_count").fetchone()[0]
                dbapi.execute(f"PRAGMA max_page_count = {pages}")

        engine.dispose()
        yield "disk full"
        capped["on"] = False
    else:
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = url.database
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        engine.dispose()
        yield "read-only"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        admin.dispose()
    engine.dispose()


@pytest.mark.parametrize("recovery", ["by a write", "idle"])
def test_a_database_that_cannot_write_is_said_once_and_by_health(
    services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    recovery: str,
) -> None:
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    rng = random.Random(31)

    def send() -> int:
        token = cast.client(demo.COA).sign(profile_payload(rng, now)[0]).encode()
        return intake.accept(token, services=services, now=now, trace_id="d" * 32).status

    assert send() == 202 and client.get("/v1/health").status_code == 200
    capsys.readouterr()
    with _unwritable(services) as cause:
        failures = []
        for _ in range(30):  # SQLite: until the cap is reached
            try:
                send()
            except ServiceUnavailable as error:
                failures.append(error)
        assert len(failures) >= 3
        assert all(cause in f.detail and "outcome is unknown" in f.detail for f in failures)
        health = client.get("/v1/health")
        assert health.status_code == 503 and cause in health.get_json()["detail"]
        assert health.headers["Retry-After"] == "5"
        logged = capsys.readouterr().err.splitlines()
        failing = [line for line in logged if "database_writes_failing" in line]
        assert len(failing) == 1 and f'"cause": "{cause}"' in failing[0]
    if recovery == "idle":  # no traffic: health's probe ends the episode once failures age
        monkeypatch.setattr(engine_module, "RECENT_FAILURE_SECONDS", 0.0)
    else:
        assert send() == 202  # the next write ends the episode
    assert client.get("/v1/health").status_code == 200
    assert "database_writes_recovered" in capsys.readouterr().err
