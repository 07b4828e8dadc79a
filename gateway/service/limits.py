"""Rate limits per party: a token bucket in the database, leased in small batches.

Every authenticated read and every verified message costs its party one
token (a batch, one per 100 messages). The bucket is shared by every worker
and instance (``RatePort``, one row per party); a process leases a few
tokens at a time (``Limit.chunk``) and spends them locally, so a busy
party costs the database one short write per chunk, not per request.
Leased tokens unused after a second are dropped, so what a process holds
never adds more than a chunk to the party's burst. A party over its limit
gets ``429 rate-limited`` with ``Retry-After``; nothing of that request was
decided, and it is not entered in the log as a refusal (the connectors
wait and send it again).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gateway.domain.ratelimit import Limit
from gateway.errors import RateLimited

if TYPE_CHECKING:  # services.py holds a Limiter
    from gateway.service.services import Services

HELD_FOR = timedelta(seconds=1)
BATCH_PER_TOKEN = 100
"""A batch costs a token per 100 messages (a request's worth of work each, roughly):
batches are the cheap way in, and a limit should not make them the dear one"""


def batch_cost(messages: int) -> int:
    return max(1, math.ceil(messages / BATCH_PER_TOKEN))


@dataclass
class _Held:
    tokens: int = 0
    since: datetime | None = None


@dataclass
class Limiter:
    """This process's leased tokens, per party."""

    held: dict[str, _Held] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, oin: str, count: int, now: datetime) -> bool:
        with self.lock:
            held = self.held.get(oin)
            if held is None or held.since is None or now - held.since > HELD_FOR:
                return False
            if held.tokens < count:
                return False
            held.tokens -= count
            return True

    def keep(self, oin: str, tokens: int, now: datetime) -> None:
        with self.lock:
            self.held[oin] = _Held(tokens, now)


def limit_for(services: Services, oin: str) -> Limit | None:
    settings = services.settings
    rate, burst = settings.rate_limits.get(oin, (settings.rate_per_second, settings.rate_burst))
    return Limit(rate, burst) if rate > 0 else None


def admit(services: Services, oin: str, now: datetime, count: int = 1) -> None:
    """Spend ``count`` of the party's tokens. Raises RateLimited when it has not got them."""
    limit = limit_for(services, oin)
    if limit is None or services.limiter.spend(oin, count, now):
        return
    if count > limit.burst:
        raise RateLimited(
            f"a batch costing {count} tokens is more than this party's burst "
            f"({limit.burst:g}): send smaller batches"
        )
    granted, wait = services.store.ratelimits.lease(oin, count, limit, now)
    if granted < count:
        raise RateLimited(
            f"over this party's limit of {limit.rate:g} requests a second (burst "
            f"{limit.burst:g}): send again after Retry-After",
            retry_after=math.ceil(wait),
        )
    services.limiter.keep(oin, granted - count, now)
