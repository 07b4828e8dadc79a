"""A monotonic clock a test steps by hand (the guards' caches: checkpoints, the logbook)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Clock:
    """Reads ``now`` and notes each reading; a test moves ``now``."""

    now: float = 100.0
    readings: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        self.readings.append(self.now)
        return self.now
