"""A commit the synchronous standby did not confirm is never a success (issue #33).

A commit waits for its synchronous standby however long it takes (PostgreSQL ends the
statement timeout before the commit). But a cancel (``pg_cancel_backend``, an operator
freeing a stuck primary) ends the wait, keeps the commit on the primary, and says so only
in a warning. The gateway's writes (``storage.engine.write``) watch for that warning and
raise ServiceUnavailable, so no receipt is sent for what the standby may not hold. Here the
standby's WAL receiver is stopped, and the waiting backend cancelled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from gateway.errors import ServiceUnavailable
from gateway.storage import engine
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
