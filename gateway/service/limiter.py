"""This process's leased rate-limit tokens, per party (``limits`` spends them).

A module of its own so that ``Services``, which holds a Limiter, and
``limits``, whose use cases take the ``Services``, do not import each other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HELD_FOR = timedelta(seconds=1)
"""how long leased tokens may be spent before the shared bucket is asked again"""


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
