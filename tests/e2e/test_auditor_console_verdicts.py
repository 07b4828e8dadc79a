"""The auditor console's own verdict on a real gateway's log: intact, truncated,
rewritten, an entry altered. The console keeps what it verified in its own
store, so each later sync is checked against that."""

from __future__ import annotations

import pytest

from connectors.auditor.console.auditlog import AuditStore, sync
from connectors.auditor.leaves import Frontier
from connectors.common.client import GatewayClient
from gateway.devtools import demo
from tests.e2e.auditlogs import Log, keep_copy, restore_copy, sql, truncate

pytestmark = pytest.mark.e2e


def _console(log: Log) -> tuple[AuditStore, GatewayClient]:
    return AuditStore(log.folder / "auditlog.sqlite3"), log.cast.client(demo.AUDITOR)


def test_an_intact_log_verifies_and_grows(log: Log) -> None:
    store, client = _console(log)
    first = sync(client, store)
    assert first.ok and first.tree_size == store.size() > 0, first
    log.grow(3, seed=900)
    second = sync(client, store)
    assert second.ok and second.tree_size > first.tree_size, second
    kept = Frontier.loads(store.state("frontier") or "")
    assert kept.size == second.tree_size  # the next sync folds in only what is new
    assert sync(client, store).ok


def test_a_truncated_log_is_named_and_the_verified_state_kept(log: Log) -> None:
    store, client = _console(log)
    verified = sync(client, store)
    assert verified.ok
    size = verified.tree_size
    truncate(log, size)
    verdict = sync(client, store)
    assert not verdict.ok and "truncated" in (verdict.problem or ""), verdict
    assert verdict.tree_size == size  # what was verified is what it still says it verified


def test_a_log_rewritten_from_an_older_copy_is_named(log: Log) -> None:
    store, client = _console(log)
    copy = keep_copy(log)
    log.grow(4, seed=700)
    assert sync(client, store).ok  # the console saw the first history
    restore_copy(log, copy)
    log.grow(8, seed=800)  # another history, longer than the one verified
    verdict = sync(client, store)
    assert not verdict.ok and "rewritten" in (verdict.problem or ""), verdict


def test_an_entry_altered_before_the_console_fetched_it_fails_the_root(log: Log) -> None:
    store, client = _console(log)
    sql(
        log.db,
        "UPDATE audit_entries SET entry = "
        "CAST(replace(CAST(entry AS TEXT), '\"ok\"', '\"OK\"') AS BLOB) WHERE idx = 5",
    )
    verdict = sync(client, store)
    assert not verdict.ok and "altered" in (verdict.problem or ""), verdict
