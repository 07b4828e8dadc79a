"""A token bucket per party: how many requests it may make now, and when the next.

Pure arithmetic; where the bucket lives (the database, shared by every
worker and instance) is storage's business, and how a process leases
tokens from it in small batches, the service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Limit:
    rate: float
    """tokens a second"""
    burst: float
    """the bucket's size: what a party may send at once after a quiet while"""

    def chunk(self) -> int:
        """Tokens a process leases at a time: few enough that what is leased and unused
        stays a small share of the burst, many enough to spare the database."""
        return max(1, min(50, int(self.burst // 10), int(self.rate // 20)))


def refilled(tokens: float, updated: datetime, now: datetime, limit: Limit) -> float:
    """The bucket's tokens at ``now`` (a clock that stepped back refills nothing)."""
    elapsed = max(0.0, (now - updated).total_seconds())
    return min(limit.burst, tokens + elapsed * limit.rate)


def lease(tokens: float, want: int, chunk: int, limit: Limit) -> tuple[int, float, float]:
    """(granted, tokens left, seconds until ``want`` would be there); granted is 0 or at
    least ``want``, at most ``max(want, chunk)``."""
    if tokens >= want:
        granted = int(min(max(want, chunk), tokens))
        return granted, tokens - granted, 0.0
    return 0, tokens, (want - tokens) / limit.rate if limit.rate > 0 else 3600.0
