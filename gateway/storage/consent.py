"""Consent facts as recorded: the one query for a newcomer's consent history.

Facts are written by intake (``Intake.add_consent``) and never changed; here
they are read back, for several newcomers at once, for the inbox's decision
at pull time and for the municipality's list of its records alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.records import History, Recorded
from gateway.storage import engine, tables
from gateway.storage.engine import among

_DECLARATIONS, _WITHDRAWALS = tables.consent_declarations, tables.consent_withdrawals


class ConsentStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def histories(self, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
        """Every declaration and withdrawal per pseudonym at ``granted_to``, in two queries."""
        with engine.read(self.engine) as conn:
            return histories_on(conn, granted_to, subjects)


def histories_on(conn: Connection, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
    """The consent history query, on the caller's connection (a read, or a write's)."""
    wanted = sorted(set(subjects))
    found = {s: History([], []) for s in wanted}
    for row in conn.execute(
        select(_DECLARATIONS)
        .where(
            _DECLARATIONS.c.granted_to == granted_to, among(conn, _DECLARATIONS.c.subject, wanted)
        )
        .order_by(_DECLARATIONS.c.id)
    ):
        found[row.subject].declarations.append(_recorded(row, _declaration(row)))
    for row in conn.execute(
        select(_WITHDRAWALS)
        .where(_WITHDRAWALS.c.granted_to == granted_to, among(conn, _WITHDRAWALS.c.subject, wanted))
        .order_by(_WITHDRAWALS.c.id)
    ):
        fact = Withdrawal(row.declaration_id, row.withdrawn_at, row.by)
        found[row.subject].withdrawals.append(_recorded(row, fact))
    return found


def _recorded(row: Any, fact: Any) -> Any:
    return Recorded(fact, row.message_id, row.recorded_by, row.recorded_at)


def _declaration(row: Any) -> Declaration:
    return Declaration(
        declaration_id=row.declaration_id,
        granted_to=row.granted_to,
        sources=frozenset(json.loads(row.sources)),
        categories=frozenset(json.loads(row.categories)),
        purposes=frozenset(json.loads(row.purposes)),
        explicit_health_consent=row.explicit_health_consent,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        explained_in_language=row.explained_in_language,
        interpreter_used=row.interpreter_used,
    )
