"""Progress against the plan: the hours a provider reports, never going back.

Hours are cumulative totals since the assignment began, per kind (DUO's
``GevolgdeUren``: language and KNM at an institution, Z-route
participation, the broad intake); a report that lowers a total is refused
at its member. Pure: errors name pointers, never values.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import SchemaViolation

HOUR_KINDS = ("language_and_knm", "participation", "broad_intake")


def check_hours(reported: Mapping[str, int], before: Mapping[str, int]) -> None:
    """Raises SchemaViolation at each kind whose total is below the one reported before."""
    lowered = [
        kind for kind in HOUR_KINDS if kind in reported and reported[kind] < before.get(kind, 0)
    ]
    if lowered:
        pointers = [f"/body/hours/{kind}" for kind in lowered]
        raise SchemaViolation(
            [{"pointer": p, "keyword": "cumulative"} for p in pointers],
            detail="hours are cumulative; lower than reported before: " + ", ".join(pointers),
        )
