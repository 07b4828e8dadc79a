"""Provider assignments inside intake's transaction: every version, per municipality.

Must not import the service or the web.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.domain.assignments import Assignment
from gateway.storage import statements
from gateway.storage.writers.buffer import Buffer


class Assignments:
    """The ``AssignmentsTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def history(self, municipality: str, subject: str) -> list[Assignment]:
        """Every assignment version for this newcomer at this municipality, oldest first."""
        self.buffer.flush()
        params = {"municipality": municipality, "subject": subject}
        return [_assignment(r) for r in self.buffer.conn.execute(statements.ASSIGNMENTS, params)]

    def add(self, assignment: Assignment, message_id: str, subject: str, now: datetime) -> None:
        self.buffer.rows["assignments"].append(
            {
                "assignment_id": assignment.assignment_id,
                "message_id": message_id,
                "municipality": assignment.municipality,
                "provider": assignment.provider,
                "subject": subject,
                "route": assignment.route,
                "valid_from": assignment.valid_from,
                "valid_until": assignment.valid_until,
                "status": assignment.status,
                "recorded_at": now,
            }
        )


def _assignment(row: Any) -> Assignment:
    return Assignment(
        assignment_id=row.assignment_id,
        municipality=row.municipality,
        provider=row.provider,
        route=row.route,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        status=row.status,
    )
