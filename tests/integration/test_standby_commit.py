"""A commit the synchronous standby did not confirm is never a success (issue #33).

A commit waits for its synchronous standby however long it takes (PostgreSQL ends the
statement timeout before the commit). But a cancel (``pg_cancel_backend``, an operator
freeing a stuck primary) ends the wait, keeps the commit on the primary, and says so only
in a warning. The gateway's writes (``storage.engine.write``) watch for that warning and
raise ServiceUnavailable, so no receipt is sent for what the standby may not hold. Here the
standby's WAL receiver is stopped, and the waiting backend cancelled.

After such a cancel the row shows on the primary (in the normal wait it does not, until the
standby confirms). The same message sent again then gets its receipt only once the standby
has it (``IntakePort.settle``), never a receipt the first sender could not have had.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.bootstrap import migrate_database, storage_of
from gateway.devtools import demo
from gateway.domain.audit import events
from gateway.errors import GatewayError, ServiceUnavailable
from gateway.service import intake
from gateway.service.services import Services
from gateway.storage import engine
from tests.conftest import services_for
from tests.helpers import profile_token
from tests.standby import Pair

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    started = Pair().start()
    try:
        yield started
    finally:
        started.close()


def _insert(url: str) -> None:
    db = engine.make_engine(url)
    try:
        with engine.write(db, lock=False) as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (n int)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        db.dispose()


def _cancel_the_wait(pair: Pair) -> None:
    """An operator's cancel of the backend that waits for the standby (wait event SyncRep)."""
    deadline = time.monotonic() + 20
    query = "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
    while pair.primary.sql(query) != "t":
        assert time.monotonic() < deadline, "no commit waited for the standby"
        time.sleep(0.05)


def test_a_commit_the_standby_confirmed_succeeds(pair: Pair) -> None:
    _insert(pair.url)


def test_a_commit_whose_wait_for_the_standby_was_cancelled_is_refused(pair: Pair) -> None:
    pair.hold_standby()
    raised: list[BaseException] = []

    def insert() -> None:
        try:
            _insert(pair.url)
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    writer = threading.Thread(target=insert, daemon=True)  # never holds the run up
    writer.start()
    try:
        _cancel_the_wait(pair)
        writer.join(timeout=30)
    finally:
        pair.cut_link()  # its WAL receiver starts again and catches up
    assert len(raised) == 1 and isinstance(raised[0], ServiceUnavailable), raised
    assert "standby did not confirm" in str(raised[0].detail)


def _submit(services: Services, token: str, done: list[int | GatewayError]) -> None:
    try:
        done.append(intake.accept(token.encode(), services=services, now=datetime.now(UTC),
                                  trace_id=events.new_trace_id()).status)  # fmt: skip
    except GatewayError as error:
        done.append(error)


@pytest.fixture
def services(pair: Pair, tmp_path: Path) -> Iterator[Services]:
    """The gateway's services on the pair, their connections closed after the test."""
    migrate_database(pair.url)
    built = services_for(tmp_path, {"GATEWAY_DATABASE_URL": pair.url})
    try:
        yield built
    finally:
        storage_of(built).engine.dispose()


def test_a_message_sent_again_gets_its_receipt_once_the_standby_has_it(
    pair: Pair, services: Services
) -> None:
    """The first commit's wait cancelled: 503, the row on the primary only (and visible).
    The sender sends it again: the receipt waits until the standby has it."""
    cast = demo.register_cast(services, "", datetime.now(UTC))
    coa = cast.client(demo.COA)
    warm: list[int | GatewayError] = []
    _submit(services, profile_token(coa, 33_002)[0], warm)  # COA's tokens leased: no write
    assert warm == [202]
    token, _ = profile_token(coa, 33_001)
    pair.hold_standby()
    first: list[int | GatewayError] = []
    again: list[int | GatewayError] = []
    threads = [threading.Thread(target=_submit, args=(services, token, first), daemon=True)]
    try:
        threads[0].start()
        _cancel_the_wait(pair)
        threads[0].join(timeout=30)
        assert [type(r) for r in first] == [ServiceUnavailable]
        threads.append(threading.Thread(target=_submit, args=(services, token, again),
                                        daemon=True))  # fmt: skip
        threads[1].start()
        threads[1].join(timeout=2)
        assert again == [], "a receipt for what the standby does not hold yet"
    finally:
        pair.cut_link()  # the standby catches up
    threads[1].join(timeout=30)
    assert again == [200]
