"""The policy file's ``signals`` section as a value: when each regie signal holds.

Apart from the signals themselves so that the schemas, which read the policy
file, need not import the signals (which import the assignments, which import
the messages, which import the schemas). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.errors import ConfigurationError


@dataclass(frozen=True)
class Thresholds:
    """The policy file's ``signals`` section: when each signal holds."""

    no_plan_after: timedelta
    no_progress_after: timedelta
    low_attendance_below: float
    behind_plan_below: float
    term: timedelta
    term_ending_within: timedelta
    dropout_risk_levels: frozenset[str]

    @classmethod
    def from_policy(cls, section: Any) -> Thresholds:
        """Raises ConfigurationError when a threshold is missing or out of range."""
        try:
            found = cls(
                no_plan_after=timedelta(days=int(section["no_plan_after_days"])),
                no_progress_after=timedelta(days=int(section["no_progress_after_days"])),
                low_attendance_below=float(section["low_attendance_below"]),
                behind_plan_below=float(section["behind_plan_below"]),
                term=timedelta(days=int(section["term_days"])),
                term_ending_within=timedelta(days=int(section["term_ending_within_days"])),
                dropout_risk_levels=frozenset(section["dropout_risk_levels"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError("policy: the signals thresholds are incomplete") from None
        if not (0 < found.low_attendance_below <= 1 and 0 < found.behind_plan_below <= 1):
            raise ConfigurationError("policy: signal ratios must be within (0, 1]")
        return found
