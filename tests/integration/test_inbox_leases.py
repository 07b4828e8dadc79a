"""Pulls with a lease: several pullers of one municipality share its inbox, none twice at once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from gateway.devtools import demo
from gateway.domain.parties import Party
from gateway.domain.wire import envelope
from gateway.service import inbox, intake
from gateway.service.services import Services
from tests.helpers import profile_token

TRACE = "0" * 32
LEASE = timedelta(seconds=60)


def _inbox_of(services: Services, count: int, now: datetime) -> tuple[Party, list[str]]:
    cast = demo.register_cast(services, "http://unused", now)
    ids = []
    for seed in range(count):
        token, _ = profile_token(cast.client(demo.COA), 3100 + seed, now)
        assert (
            intake.accept(token.encode(), services=services, now=now, trace_id=TRACE).status == 202
        )
        ids.append(str(json.loads(envelope.b64url_decode(token.split(".")[1]))["message_id"]))
    leiden = services.store.registry.find_party(demo.LEIDEN)
    assert leiden is not None
    return leiden, ids


def _pulled(
    services: Services, leiden: Party, now: datetime, lease: timedelta = timedelta(0)
) -> list[str]:
    page = inbox.pull(services, leiden, 0, 500, now, TRACE, lease)
    return [d["message_id"] for d in page.deliveries]


def test_a_leased_page_goes_to_no_other_pull_until_the_lease_ends(services: Services) -> None:
    now = datetime.now(UTC)
    leiden, ids = _inbox_of(services, 6, now)

    first = inbox.pull(services, leiden, 0, 4, now, TRACE, LEASE)
    taken = [d["message_id"] for d in first.deliveries]
    assert taken == ids[:4]
    assert _pulled(services, leiden, now, lease=LEASE) == ids[4:]  # the rest, not the leased
    assert _pulled(services, leiden, now) == []  # a pull without a lease skips leased ones too

    inbox.acknowledge(services, leiden, first.deliveries[0]["delivery_id"], now, TRACE)
    later = now + LEASE + timedelta(seconds=1)
    assert _pulled(services, leiden, later) == ids[1:]  # unacknowledged come again after it


def test_pulls_without_a_lease_keep_the_contracts_at_least_once(services: Services) -> None:
    now = datetime.now(UTC)
    leiden, ids = _inbox_of(services, 3, now)
    assert _pulled(services, leiden, now) == ids
    assert _pulled(services, leiden, now) == ids


def test_concurrent_leased_pullers_never_share_a_delivery(services: Services) -> None:
    now = datetime.now(UTC)
    leiden, ids = _inbox_of(services, 40, now)
    seen: list[list[str]] = [[] for _ in range(4)]

    def puller(mine: list[str]) -> None:
        while True:
            page = inbox.pull(services, leiden, 0, 3, now, TRACE, LEASE)
            if not page.deliveries:
                return
            mine.extend(d["message_id"] for d in page.deliveries)

    threads = [threading.Thread(target=puller, args=(mine,)) for mine in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [message_id for mine in seen for message_id in mine]
    assert sorted(everything) == sorted(ids)  # each exactly once
