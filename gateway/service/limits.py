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
from datetime import datetime

from gateway.domain.ratelimit import Limit
from gateway.errors import RateLimited
from gateway.service.services import Services

BATCH_PER_TOKEN = 100
"""A batch costs a token per 100 messages (a request's worth of work each, roughly):
batches are the cheap way in, and a limit should not make them the dear one"""


def batch_cost(messages: int) -> int:
    return max(1, math.ceil(messages / BATCH_PER_TOKEN))


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
