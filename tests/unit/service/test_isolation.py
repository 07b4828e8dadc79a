"""One item's fault in a shared write rolls back that item alone (issue #26).

The group commit and a batch write many messages in one transaction; a
fault that one item provokes while it is written must not fail the others.
Faults are injected into the fake port (never into our own components in
an integration test).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.schemas import Catalog
from gateway.errors import GatewayError, ServiceUnavailable
from gateway.service import intake, isolation
from gateway.service.checks import Outcome
from tests.unit import fake_tx
from tests.unit.world import NOW, TRACE, make_world


class _Writes:
    """A write that fails whenever its part holds a poison; records each attempt."""

    def __init__(self, poison: set[int], fault: Exception) -> None:
        self.poison, self.fault = poison, fault
        self.attempts: list[list[int]] = []

    def __call__(self, part: Sequence[int]) -> list[str]:
        self.attempts.append(list(part))
        if self.poison & set(part):
            raise self.fault
        return [f"ok {item}" for item in part]


def _failed(item: int, error: GatewayError) -> str:
    return f"failed {item} {error.code}"


def test_the_item_at_fault_stands_alone_and_every_other_is_written() -> None:
    writes = _Writes({5}, ValueError("year 0 is out of range"))
    results = isolation.isolated(list(range(8)), writes, _failed)
    assert results == [*(f"ok {i}" for i in range(5)), "failed 5 internal-error",
                       *(f"ok {i}" for i in range(6, 8))]  # fmt: skip
    assert len(writes.attempts) <= 1 + 2 * 3  # the whole, then halves down to the one


def test_two_poisons_in_one_group_fail_alone() -> None:
    writes = _Writes({0, 7}, RuntimeError("constraint"))
    results = isolation.isolated(list(range(8)), writes, _failed)
    assert [r.split()[0] for r in results] == ["failed", *["ok"] * 6, "failed"]


def test_a_database_that_is_away_fails_the_whole_write() -> None:
    writes = _Writes({3}, ServiceUnavailable("database unreachable"))
    with pytest.raises(ServiceUnavailable):
        isolation.isolated(list(range(8)), writes, _failed)
    assert len(writes.attempts) == 1  # not retried item by item: nothing is kept


def test_a_batch_keeps_every_item_but_the_one_whose_write_fails(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(catalog, tmp_path)
    payloads = [world.profile() for _ in range(5)]
    tokens = [world.sign(payload) for payload in payloads]
    poison = payloads[2]["message_id"].lower()
    real = fake_tx.FakeMessages.add

    def add(self: fake_tx.FakeMessages, message: Any, *args: Any) -> None:
        if message.message_id == poison:
            raise ValueError("a value the write cannot hold")
        real(self, message, *args)

    monkeypatch.setattr(fake_tx.FakeMessages, "add", add)
    items: list[bytes | GatewayError] = list(tokens)
    results = intake.accept_batch(items, services=world.services, now=NOW, trace_id=TRACE)
    assert [r.status if isinstance(r, Outcome) else r.code for r in results] == [
        202, 202, "internal-error", 202, 202]  # fmt: skip
    stored = world.store.state.messages
    assert poison not in stored and len(stored) == 4
    refused = [e for e in world.store.state.log if e.event == "message.refused"]
    assert [(e.message_id, e.reason) for e in refused] == [(poison, "internal-error")]
