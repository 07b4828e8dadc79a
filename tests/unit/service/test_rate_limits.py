"""Rate limits per party: a token bucket shared by every process, leased in small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import build_services
from gateway.config import Settings
from gateway.domain.ratelimit import Limit, lease, refilled
from gateway.errors import RateLimited
from gateway.service import limits
from gateway.service.services import Services
from tests.unit.fakes import FakeRates, FakeStore

COA, PROVIDER = "00000001003214345000", "00000001820029336000"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _services(instance: Path, rates: FakeRates, **settings: Any) -> Services:
    """Services over a fake store whose buckets are ``rates``: the store's row, which every
    process shares; each services its own Limiter, as each process has."""
    base = Settings(instance=instance, database_url="fake://", **settings)
    return build_services(base, store_factory=lambda _settings, _vault: FakeStore(rates))


def _admitted(services: Services, oin: str, at: datetime, times: int) -> int:
    done = 0
    for _ in range(times):
        try:
            limits.admit(services, oin, at)
            done += 1
        except RateLimited:
            pass
    return done


def test_a_party_gets_its_burst_then_429_with_a_retry_after(tmp_path: Path) -> None:
    services = _services(tmp_path, FakeRates(), rate_limits={COA: (5.0, 5.0)})
    assert _admitted(services, COA, T0, 8) == 5
    with pytest.raises(RateLimited) as refused:
        limits.admit(services, COA, T0)
    assert refused.value.status == 429 and refused.value.headers()["Retry-After"] == "1"
    assert _admitted(services, PROVIDER, T0, 8) == 8  # another party: the default limit
    assert _admitted(services, COA, T0 + timedelta(seconds=1), 8) == 5  # refilled


def test_two_processes_share_one_bucket(tmp_path: Path) -> None:
    rates = FakeRates()
    one, two = (_services(tmp_path, rates, rate_limits={COA: (10.0, 20.0)}) for _ in range(2))
    admitted = sum(_admitted(s, COA, T0, 15) for s in (one, two))
    assert admitted <= 20 + Limit(10.0, 20.0).chunk()
    assert admitted >= 20


def test_leasing_spares_the_store_and_a_stale_lease_is_dropped(tmp_path: Path) -> None:
    rates = FakeRates()
    services = _services(tmp_path, rates, rate_per_second=2000.0, rate_burst=4000.0)
    assert _admitted(services, COA, T0, 500) == 500
    assert rates.leases == 500 // Limit(2000.0, 4000.0).chunk()
    assert _admitted(services, COA, T0 + timedelta(seconds=2), 1) == 1
    assert rates.leases == 500 // 50 + 1  # the held tokens were too old to spend


def test_no_limit_when_the_rate_is_zero_and_batches_cost_per_hundred(tmp_path: Path) -> None:
    services = _services(tmp_path, FakeRates(), rate_per_second=0.0)
    assert _admitted(services, COA, T0, 10_000) == 10_000
    assert [limits.batch_cost(n) for n in (1, 100, 101, 1000)] == [1, 1, 2, 10]


def test_the_bucket_arithmetic() -> None:
    limit = Limit(rate=2.0, burst=10.0)
    assert refilled(0.0, T0, T0 + timedelta(seconds=3), limit) == 6.0
    assert refilled(0.0, T0, T0 - timedelta(seconds=3), limit) == 0.0  # clock stepped back
    assert refilled(9.0, T0, T0 + timedelta(hours=1), limit) == 10.0
    assert lease(0.5, 1, 1, limit) == (0, 0.5, 0.25)
    assert lease(10.0, 1, 4, limit) == (4, 6.0, 0.0)
