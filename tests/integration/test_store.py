"""The store on a real SQLite database: migrations, transactions, the counter, at rest."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from gateway.bootstrap import build_services, storage_of
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.wire import envelope, jwk
from gateway.errors import ServiceUnavailable
from gateway.service import intake, registry
from gateway.service.services import Services
from gateway.storage import tables
from tests.helpers import database_bytes, read_event, record, signed_profile

COA = "00000001003214345000"
LEIDEN = "00000001002220647000"


def test_migrations_build_exactly_the_tables_the_code_declares(services: Services) -> None:
    with storage_of(services).engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_with_full_sync(services: Services) -> None:
    with storage_of(services).engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_concurrent_appends_get_consecutive_indices(services: Services) -> None:
    store, now = storage_of(services), datetime.now(UTC)

    def work() -> None:
        for _ in range(25):
            record(services, read_event(), now=now)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    indices = [e["index"] for e in store.audit.entries()]
    assert indices == list(range(100))
    assert all(e["entry"]["index"] == e["index"] for e in store.audit.entries())


@contextmanager
def _counter_held_elsewhere(url: str) -> Iterator[None]:
    """Another program holds the write lock: SQLite's database lock, PostgreSQL's counter row."""
    if url.startswith("sqlite"):
        blocker = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    engine = create_engine(url)
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SELECT next_index FROM audit_counter WHERE id = 1 FOR UPDATE")
        yield
    engine.dispose()


def _impatient(services: Services) -> Services:
    """Services of the same instance and database whose writes wait for the lock 50 ms."""
    settings = dataclasses.replace(services.settings, sqlite_busy_timeout_ms=50)
    return build_services(settings, upgrade=False)


def test_a_locked_database_is_service_unavailable_not_a_crash(services: Services) -> None:
    url = services.settings.database_url
    with _counter_held_elsewhere(url):
        impatient = _impatient(services)
        with pytest.raises(ServiceUnavailable) as caught:
            record(impatient, read_event())
        assert caught.value.headers()["Retry-After"] == "1"
        storage_of(impatient).engine.dispose()


def _register(services: Services, now: datetime) -> jwk.Key:
    registry.register_party(services, new_party(COA, "coa", "COA"), now, "0" * 32)
    leiden = new_party(LEIDEN, "municipality", "Leiden", "GM0546")
    registry.register_party(services, leiden, now, "0" * 32)
    key = jwk.generate()
    registry.register_key(
        services,
        KeyRecord(
            jwk.thumbprint(key), COA, jwk.public_jwk(key), not_before=now - timedelta(minutes=1)
        ),
        now,
        "0" * 32,
    )
    return key


def test_accepted_message_is_stored_sealed_and_audited_in_one_go(services: Services) -> None:
    now = datetime.now(UTC)
    key = _register(services, now)
    rng = random.Random(11)
    payload, token, person = signed_profile(key, rng, now)
    before = storage_of(services).count("audit_entries")
    outcome = intake.accept(token, services=services, now=now, trace_id="1" * 32)
    assert outcome.status == 202
    receipt = envelope.verify(
        envelope.parse(outcome.receipt.encode(), typ=envelope.RECEIPT_TYP),
        jwk.import_jwk(jwk.public_jwk(services.signer.key)),
    ).payload
    entries = storage_of(services).audit.entries(before)
    assert [e["entry"]["event"] for e in entries] == ["message.accepted"]
    assert receipt["audit"] == {"index": entries[0]["index"], "leaf_hash": entries[0]["leaf_hash"]}
    assert entries[0]["entry"]["subject"] == services.pseudonym(person.v_number)
    assert entries[0]["entry"]["trace_id"] == "1" * 32
    assert storage_of(services).read_message(payload["message_id"]) == token

    # At rest: no plaintext of the newcomer anywhere in the database.
    raw = database_bytes(services)
    assert len(raw) > 3000  # the scan saw the stored message
    for value in (person.family_name, person.bsn, person.v_number, "Electrician"):
        assert value.encode() not in raw


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_a_busy_database_is_unavailable_and_keeps_nothing(services: Services, batch: bool) -> None:
    """503 means nothing was kept (of a batch: none of it): the sender sends it again.

    A single message's lock goes through a prepared statement, a batch's
    through Core: a lock timeout must come out the same on both paths.
    """
    now = datetime.now(UTC)
    key = _register(services, now)
    rng = random.Random(12)
    tokens = [signed_profile(key, rng, now)[1] for _ in range(3 if batch else 1)]
    url = services.settings.database_url
    impatient = _impatient(services)

    def send(via: Services) -> list[int]:
        if not batch:
            return [intake.accept(tokens[0], services=via, now=now, trace_id="0" * 32).status]
        items: list[bytes] = [*tokens, b"not a jws"] if via is impatient else tokens
        outcomes = intake.accept_batch(items, services=via, now=now, trace_id="0" * 32)
        return [o.status for o in outcomes if isinstance(o, intake.Outcome)]

    store = storage_of(services)
    before = store.count("audit_entries"), store.count("messages")
    with _counter_held_elsewhere(url), pytest.raises(ServiceUnavailable):
        send(impatient)
    assert (store.count("audit_entries"), store.count("messages")) == before
    assert send(impatient) == [202] * len(tokens)  # the same engine, once the lock is free
    storage_of(impatient).engine.dispose()


def test_a_messages_reads_come_in_one_row_and_its_stored_copy_with_the_lock(
    services: Services,
) -> None:
    """The single-message path's two combined reads answer as the separate ones would."""
    now = datetime.now(UTC)
    key = _register(services, now)
    rng = random.Random(13)
    payload, token, _ = signed_profile(key, rng, now)
    outcome = intake.accept(token, services=services, now=now, trace_id="3" * 32)
    kid, message_id, subject = jwk.thumbprint(key), payload["message_id"], "s" * 64

    with services.store.intake.session() as session:
        session.prefetch(kid, message_id, COA, LEIDEN)
        found_key = session.find_key(kid)
        assert found_key is not None and found_key.oin == COA and found_key.jwk["kty"] == "OKP"
        assert found_key.not_before.tzinfo is UTC
        parties = session.find_parties(COA, LEIDEN)
        assert parties[COA].role == "coa" and parties[LEIDEN].municipality_code == "GM0546"
        stored = session.find_message(message_id)
        assert stored is not None and stored.receipt == outcome.receipt
    with services.store.intake.session() as session:
        session.prefetch("x" * 43, "0" * 36, "0" * 20, LEIDEN)
        assert session.find_key("x" * 43) is None
        assert session.find_message("0" * 36) is None
        assert list(session.find_parties("0" * 20, LEIDEN)) == [LEIDEN]

    for wanted in (message_id, "0" * 36):
        intake_port = storage_of(services).intake
        with intake_port.session() as session, session.intake([subject], [wanted]) as tx:
            seen = tx.find_messages([wanted])
        assert {m: s.receipt for m, s in seen.items()} == (
            {message_id: outcome.receipt} if wanted == message_id else {}
        )
