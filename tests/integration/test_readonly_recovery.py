"""Faults answered truthfully until they end (issue #26, item 4).

A database that turned read-only is writable again without a restart: the
connections opened while it was read-only keep that mode (SQLite's on a
read-only file, PostgreSQL's ``default_transaction_read_only``), so the
gateway replaces them on a read-only refusal. Here SQLite's read-only file
is ``PRAGMA query_only`` on every connection opened during the episode (a
chmod means nothing to root); PostgreSQL's is the real setting.

A full disk (SQLite's page cap, as in test_unwritable) is said by health
until a request's write, not a background job's, shows room again: a
checkpoint signed or a rate-limit lease taken in the little room left does
not end it, and health's own probe claims a request's worth of fresh space.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, make_url

from gateway.bootstrap import storage_of, with_checkpointer
from gateway.devtools import demo
from gateway.domain.ratelimit import Limit
from gateway.errors import ServiceUnavailable
from gateway.service import intake
from gateway.service.checkpointer import Checkpointer
from gateway.service.services import Services
from gateway.storage import engine as engine_module
from gateway.web.app import create_app
from tests.helpers import profile_payload


def _sender(services: Services, seed: int) -> Callable[[], int]:
    """Send one new message by COA through intake; its status, or 503 when refused so."""
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    rng = random.Random(seed)

    def send() -> int:
        token = cast.client(demo.COA).sign(profile_payload(rng, now)[0]).encode()
        try:
            return intake.accept(token, services=services, now=now, trace_id="e" * 32).status
        except ServiceUnavailable:
            return 503

    return send


@contextmanager
def _read_only(services: Services) -> Iterator[None]:
    """Connections opened in the block are read-only; the pool keeps them after it ends."""
    engine: Any = storage_of(services).engine
    url = make_url(services.settings.database_url)
    if url.get_backend_name() == "sqlite":
        state = {"on": True}

        @event.listens_for(engine, "connect")
        def read_only(dbapi: Any, _record: Any) -> None:
            if state["on"]:
                dbapi.execute("PRAGMA query_only = ON")

        engine.dispose()  # every connection from here on is opened read-only
        yield
        state["on"] = False
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    setting = f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = '
    with admin.connect() as conn:
        conn.exec_driver_sql(setting + "on")
    engine.dispose()  # e.g. a fail-over: the gateway reconnects to a read-only database
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(setting + "off")
        admin.dispose()


def test_a_read_only_database_recovers_without_a_restart(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    send = _sender(services, 41)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    assert send() == 202
    with _read_only(services):
        assert [send() for _ in range(5)] == [503] * 5
        health = client.get("/v1/health")
        assert health.status_code == 503 and "read-only" in health.get_json()["detail"]
    # writable again, and nothing disposed the pool: the next write succeeds
    assert send() == 202
    assert client.get("/v1/health").status_code == 200
    assert [send() for _ in range(5)] == [202] * 5
    logged = capsys.readouterr().err
    assert logged.count("database_writes_failing") == 1
    assert logged.count("database_writes_recovered") == 1


def test_an_idle_gateway_says_200_again_once_the_database_is_writable(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No request comes (a balancer took the gateway out): health's probe ends the episode."""
    send = _sender(services, 42)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    assert send() == 202
    with _read_only(services):
        assert send() == 503
        monkeypatch.setattr(engine_module, "RECENT_FAILURE_SECONDS", 0.0)
        statuses = [client.get("/v1/health").status_code for _ in range(3)]
        assert statuses == [503] * 3  # the probe writes, and is refused too
    assert client.get("/v1/health").status_code == 200
    assert send() == 202


@contextmanager
def _disk_full(services: Services) -> Iterator[None]:
    """SQLite's page cap on every connection opened in the block (test_unwritable's)."""
    engine: Any = storage_of(services).engine
    capped = {"on": True}

    @event.listens_for(engine, "connect")
    def cap(dbapi: Any, _record: Any) -> None:
        if capped["on"]:
            pages = dbapi.execute("PRAGMA page_count").fetchone()[0]
            dbapi.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    yield
    capped["on"] = False
    engine.dispose()


def _fill(send: Callable[[], int]) -> None:
    """Send until the cap refuses, then a few more."""
    statuses = [send() for _ in range(40)]
    assert statuses[-5:] == [503] * 5, statuses


@pytest.mark.sqlite_only
def test_a_background_write_does_not_end_a_full_disk_episode(services: Services) -> None:
    """The checkpoint signer's write fits in the room left; health still says disk full."""
    send = _sender(services, 43)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    signer = Checkpointer(services.checkpoints, timedelta(seconds=1), timedelta(hours=1))
    for _ in range(3):
        assert send() == 202
    with _disk_full(services):
        _fill(send)
        signed = storage_of(services).count("checkpoints")
        signer.tick(datetime.now(UTC) + timedelta(minutes=5))
        assert storage_of(services).count("checkpoints") == signed + 1  # it did write
        health = client.get("/v1/health")
        assert health.status_code == 503 and "disk full" in health.get_json()["detail"]


@pytest.mark.sqlite_only
def test_health_says_a_full_disk_while_it_lasts_though_small_writes_succeed(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rate-limit lease (a request's small write) succeeds and no request fails for a
    while: health's probe claims a request's worth of fresh space, and is refused."""
    send = _sender(services, 44)
    client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
    assert send() == 202
    with _disk_full(services):
        _fill(send)
        limit = Limit(10.0, 100.0)
        granted, _ = services.store.ratelimits.lease(demo.COA, 1, limit, datetime.now(UTC))
        assert granted == 1  # the lease wrote
        assert client.get("/v1/health").status_code == 503
        monkeypatch.setattr(engine_module, "RECENT_FAILURE_SECONDS", 0.0)  # idle since
        health = client.get("/v1/health")
        assert health.status_code == 503 and "disk full" in health.get_json()["detail"]
    assert client.get("/v1/health").status_code == 200
    assert send() == 202
