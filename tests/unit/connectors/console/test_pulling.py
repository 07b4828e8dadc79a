"""The console's pull rounds over a fake inbox: which reads a round makes, what it acknowledges.

Every signals walk and progress read is a ``regie.read`` per newcomer in their access
report, so a round reads only when that can tell something new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from connectors.common.client import GatewayClient
from connectors.consoles import i18n
from connectors.municipality.console import pulling
from connectors.municipality.console.store import Store
from gateway.errors import NotAuthorised
from tests.unit.connectors.console.test_store import FAMILY, IDENTITY, delivery

V_NUMBER = "0123456789"


@dataclass
class FakeInbox:
    """The gateway as a round sees it: an inbox, the signals list, progress; what was asked."""

    deliveries: list[dict[str, Any]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None
    """what the profile read answers (None: the newcomer is not placed here)"""
    scheduled: list[tuple[str, bool]] = field(default_factory=list)
    """each request's path, and whether it said it was a scheduled run"""

    def get_json(self, path: str, **params: Any) -> dict[str, Any]:
        self.asked.append(path)
        self.scheduled.append((path, params.get("scheduled") == "true"))
        if path == "/v1/inbox":
            after = int(params.get("after", 0))
            page = [
                (i, d)
                for i, d in enumerate(self.deliveries, 1)
                if i > after and not d.get("_acked")
            ]
            found = [{k: v for k, v in d.items() if k != "_acked"} for _, d in page]
            return {"deliveries": found, "next_cursor": page[-1][0] if page else after}
        if path == "/v1/signals":
            return {"newcomers": [{"v_number": V_NUMBER, "signals": []}], "next_cursor": 1}
        if path.endswith("/profile"):
            if self.profile is None:
                raise NotAuthorised("the newcomer is not placed with this municipality")
            return self.profile
        return {"subject": {"v_number": V_NUMBER}, "plan": None, "signals": []}

    def verify_gateway_token(self, token: str, typ: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(token)
        return found

    def ack(self, delivery_id: str) -> None:
        self.acked.append(delivery_id)
        for d in self.deliveries:
            if d["delivery_id"] == delivery_id:
                d["_acked"] = True

    def walks(self) -> int:
        return self.asked.count("/v1/signals")


def signed(delivery: dict[str, Any]) -> dict[str, Any]:
    """The delivery with a token the fake verifies: its members as JSON."""
    members = {k: v for k, v in delivery.items() if k != "delivery_token"}
    return {**members, "delivery_token": json.dumps(members)}


def _client(inbox: FakeInbox) -> GatewayClient:
    return cast(GatewayClient, inbox)


def test_the_signals_walk_is_made_when_it_can_tell_something_not_every_round(
    tmp_path: Path,
) -> None:
    store, inbox = Store(tmp_path / "c.sqlite3"), FakeInbox()
    client = _client(inbox)
    assert pulling.one_round(client, store, full=True).newcomers == 1
    assert inbox.walks() == 1
    for _ in range(3):
        assert pulling.one_round(client, store).newcomers == 1  # still listed, from the store
    assert inbox.walks() == 1
    pulling.one_round(client, store, asked=True)  # "pull now"
    assert inbox.walks() == 2
    pulling.one_round(client, store, max_age=timedelta(0))  # older than the setting
    assert inbox.walks() == 3
    assert inbox.asked.count(f"/v1/newcomers/{V_NUMBER}/progress") == 2  # once, then max_age 0


def test_a_delivery_awaiting_consent_is_acknowledged_and_its_newer_copy_kept_in_its_place(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "c.sqlite3")
    inbox = FakeInbox([signed(delivery("d1", {"identity": IDENTITY}, ["family", "health"]))])
    client = _client(inbox)
    assert pulling.one_round(client, store, full=True).acknowledged == 1
    assert inbox.acked == ["d1"]  # not held open for a consent that may come
    again = delivery("d2", {"identity": IDENTITY, "family": FAMILY}, ["health"])
    inbox.deliveries.append(signed({**again, "message_id": "m-d1", "supersedes": ["d1"]}))
    done = pulling.one_round(client, store)
    assert (done.kept, done.renewed, done.acknowledged) == (1, 1, 1)
    assert inbox.acked == ["d1", "d2"]
    (kept,) = store.deliveries(V_NUMBER)
    assert kept.delivery_id == "d2" and kept.document["body"]["family"] == FAMILY
    i18n.set_language("nl")
    assert "opnieuw gebracht na toestemming: 1" in done.words()


def test_a_round_kept_before_the_hold_was_dropped_still_reads() -> None:
    old = '{"kept": 2, "acknowledged": 1, "held_open": 1, "notices": 0, "newcomers": 3}'
    assert pulling.Round.from_record(old) == pulling.Round(kept=2, acknowledged=1, newcomers=3)


def test_the_timers_round_says_it_is_scheduled_and_a_persons_does_not(tmp_path: Path) -> None:
    """The gateway's audit entries tell routine reads from a person's look (profile v1.2):
    the timer's pull, signals walk, progress and profile reads say ``scheduled``; "pull
    now" not."""
    store, inbox = Store(tmp_path / "c.sqlite3"), FakeInbox()
    pulling.one_round(_client(inbox), store, full=True)
    timer = dict(inbox.scheduled)
    assert set(timer) == {"/v1/inbox", "/v1/signals", f"/v1/newcomers/{V_NUMBER}/progress",
                          f"/v1/newcomers/{V_NUMBER}/profile"}  # fmt: skip
    assert all(timer.values())
    inbox.scheduled.clear()
    pulling.one_round(_client(inbox), store, asked=True)
    assert inbox.scheduled and not any(flag for _, flag in inbox.scheduled)
