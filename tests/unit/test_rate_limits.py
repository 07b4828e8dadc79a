"""Rate limits per party: a token bucket shared by every process, leased in small batches."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.domain.ratelimit import Limit, lease, refilled
from gateway.errors import RateLimited
from gateway.service import limits
from gateway.service.limits import Limiter
from tests.unit.fakes import FakeRates

COA, PROVIDER = "00000001003214345000", "00000001820029336000"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class _Services:
    """What limits.admit reads: settings, the shared store's buckets, its own Limiter."""

    def __init__(self, rates: FakeRates, **settings: Any) -> None:
        from gateway.config import Settings

        base = Settings(instance=None, database_url="sqlite://")  # type: ignore[arg-type]
        self.settings = dataclasses.replace(base, **settings)
        self.store = type("S", (), {"ratelimits": rates})()
        self.limiter = Limiter()


def _admitted(services: Any, oin: str, at: datetime, times: int) -> int:
    done = 0
    for _ in range(times):
        try:
            limits.admit(services, oin, at)
            done += 1
        except RateLimited:
            pass
    return done


def test_a_party_gets_its_burst_then_429_with_a_retry_after() -> None:
    services = _Services(FakeRates(), rate_limits={COA: (5.0, 5.0)})
    assert _admitted(services, COA, T0, 8) == 5
    with pytest.raises(RateLimited) as refused:
        limits.admit(services, COA, T0)
    assert refused.value.status == 429 and refused.value.headers()["Retry-After"] == "1"
    assert _admitted(services, PROVIDER, T0, 8) == 8  # another party: the default limit
    assert _admitted(services, COA, T0 + timedelta(seconds=1), 8) == 5  # refilled


def test_two_processes_share_one_bucket() -> None:
    rates = FakeRates()
    one, two = (_Services(rates, rate_limits={COA: (10.0, 20.0)}) for _ in range(2))
    admitted = sum(_admitted(s, COA, T0, 15) for s in (one, two))
    assert admitted <= 20 + Limit(10.0, 20.0).chunk()
    assert admitted >= 20


def test_leasing_spares_the_store_and_a_stale_lease_is_dropped() -> None:
    rates = FakeRates()
    services = _Services(rates, rate_per_second=2000.0, rate_burst=4000.0)
    assert _admitted(services, COA, T0, 500) == 500
    assert rates.leases == 500 // Limit(2000.0, 4000.0).chunk()
    assert _admitted(services, COA, T0 + timedelta(seconds=2), 1) == 1
    assert rates.leases == 500 // 50 + 1  # the held tokens were too old to spend


def test_no_limit_when_the_rate_is_zero_and_batches_cost_per_hundred() -> None:
    services = _Services(FakeRates(), rate_per_second=0.0)
    assert _admitted(services, COA, T0, 10_000) == 10_000
    assert [limits.batch_cost(n) for n in (1, 100, 101, 1000)] == [1, 1, 2, 10]


def test_the_bucket_arithmetic() -> None:
    limit = Limit(rate=2.0, burst=10.0)
    assert refilled(0.0, T0, T0 + timedelta(seconds=3), limit) == 6.0
    assert refilled(0.0, T0, T0 - timedelta(seconds=3), limit) == 0.0  # clock stepped back
    assert refilled(9.0, T0, T0 + timedelta(hours=1), limit) == 10.0
    assert lease(0.5, 1, 1, limit) == (0, 0.5, 0.25)
    assert lease(10.0, 1, 4, limit) == (4, 6.0, 0.0)
