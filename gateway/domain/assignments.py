"""Provider assignments: which provider runs which newcomer's route, when.

Assignments are never updated in place: each ``provider-assignment`` message
adds a version, and the newest version of an ``assignment_id`` is the one in
force. Must not import Flask or SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gateway.domain.message import Message, parse_utc
from gateway.errors import Conflict


@dataclass(frozen=True, slots=True)
class Assignment:
    assignment_id: str
    municipality: str
    provider: str
    route: str
    valid_from: datetime
    valid_until: datetime | None
    status: str

    def covers(self, now: datetime) -> bool:
        if self.status != "active" or now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until


def from_message(message: Message) -> Assignment:
    """The assignment a verified provider-assignment message records."""
    body = message.body
    until = body.get("valid_until")
    return Assignment(
        assignment_id=body["assignment_id"].lower(),
        municipality=message.recipient,
        provider=body["provider"],
        route=body["route"],
        valid_from=parse_utc(body["valid_from"]),
        valid_until=parse_utc(until) if until else None,
        status=body.get("status", "active"),
    )


def current(history: Iterable[Assignment], now: datetime) -> list[Assignment]:
    """The assignments in force at ``now``, in the order first recorded.

    ``history`` is oldest first; only the newest version of each assignment counts.
    """
    latest: dict[str, Assignment] = {}
    for version in history:
        latest[version.assignment_id] = version
    return [a for a in latest.values() if a.covers(now)]


def in_force(history: Iterable[Assignment], provider: str, now: datetime) -> bool:
    """Whether ``provider`` holds an assignment in force at ``now``."""
    return any(a.provider == provider for a in current(history, now))


def providers_in_force(history: Iterable[Assignment], now: datetime) -> list[str]:
    """The providers holding an assignment in force at ``now``, sorted."""
    return sorted({a.provider for a in current(history, now)})


def check_overlap(new: Assignment, history: Iterable[Assignment]) -> None:
    """At most one assignment per newcomer and provider is in force at a time.

    ``history``: the municipality's assignment versions for this newcomer,
    oldest first; the newest version of each counts. A new version of the
    same assignment_id changes that one and is always allowed; an ended one
    (status other than active) never overlaps.
    Raises Conflict (``assignment-exists``) naming the assignment_id in force.
    """
    if new.status != "active":
        return
    latest: dict[str, Assignment] = {}
    for version in history:
        latest[version.assignment_id] = version
    for other in latest.values():
        if (
            other.assignment_id == new.assignment_id
            or other.provider != new.provider
            or other.status != "active"
        ):
            continue
        overlaps = _before(new.valid_from, other.valid_until)
        if overlaps and _before(other.valid_from, new.valid_until):
            raise Conflict(
                f"assignment_id {other.assignment_id} of this provider is in force over that "
                "period; change or end that one instead (send its next version)",
                reason="assignment-exists",
            )


def _before(start: datetime, end: datetime | None) -> bool:
    """Whether ``start`` comes before ``end`` (None: an open end)."""
    return end is None or start < end
