"""Progress against the plan: the hours a provider reports, never going back.

Hours are cumulative totals since the assignment began, per kind (DUO's
``GevolgdeUren``: language and KNM at an institution, Z-route
participation, the broad intake); a report that lowers a total is refused
at its member. And what regie reads of each message, kept beside it.
Pure: errors name pointers, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.domain.message import Message
from gateway.domain.signals import NEEDS
from gateway.domain.vocabulary import (
    DUO_FACTS,
    DUO_NOTIFICATION,
    HANDOVER_PROFILE,
    INTEGRATION_PLAN,
    PROGRESS_REPORT,
)
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


def regie_view(message: Message) -> dict[str, Any] | None:
    """What regie reads of an accepted message, in the payload's own shape; None if nothing.

    The signals list reads this for every newcomer a municipality holds: the
    V-nummer and BSN, a plan's estimate, a report's members whose categories signals
    judge (``signals.NEEDS``: attendance, the provider's signals). Kept
    sealed beside the message so that list opens a few bytes per newcomer
    instead of whole messages; consent still cuts it at the read.
    """
    if message.type not in _VIEWED:
        return None
    wanted = _VIEWED[message.type]
    body = {
        member: value
        for member, value in message.body.items()
        if member in wanted or message.schema.categories.get(member) in wanted
    }
    subject = {"v_number": message.v_number}
    if message.bsn is not None:
        subject["bsn"] = message.bsn
    return {"subject": subject, "version": message.version, "body": body}


_VIEWED = {
    HANDOVER_PROFILE: frozenset[str](),
    DUO_NOTIFICATION: frozenset[str](),  # placing (SS120/SS121): the newcomer's names
    DUO_FACTS: frozenset({"duo-answer"}),  # all of it: term, test, exams, exemptions
    INTEGRATION_PLAN: frozenset({"estimated_hours_b1"}),
    PROGRESS_REPORT: frozenset(NEEDS.values()),
}
"""message type → the body members (or their categories) regie reads"""
