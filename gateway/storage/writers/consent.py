"""Consent facts inside intake's transaction: declarations and withdrawals, per grantee.

Must not import the service or the web.
"""

from __future__ import annotations

import json
from datetime import datetime

from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.message import Message
from gateway.domain.records import History
from gateway.storage import consent, statements
from gateway.storage.writers.buffer import Buffer


class Consent:
    """The ``ConsentTx`` port."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer

    def declared_subject(self, granted_to: str, declaration_id: str) -> str | None:
        """The pseudonym a recorded declaration is about, or None if there is none."""
        self.buffer.flush()
        params = {"granted_to": granted_to, "declaration_id": declaration_id}
        row = self.buffer.conn.execute(statements.FIND_DECLARATION, params).first()
        return None if row is None else str(row.subject)

    def is_withdrawn(self, granted_to: str, declaration_id: str) -> bool:
        self.buffer.flush()
        params = {"granted_to": granted_to, "declaration_id": declaration_id}
        return self.buffer.conn.execute(statements.FIND_WITHDRAWAL, params).first() is not None

    def history(self, granted_to: str, subject: str) -> History:
        """The newcomer's consent facts at ``granted_to``, this transaction's included."""
        self.buffer.flush()
        return consent.histories_on(self.buffer.conn, granted_to, [subject])[subject]

    def add(
        self, fact: Declaration | Withdrawal, message: Message, subject: str, now: datetime
    ) -> None:
        """A declaration or withdrawal, recorded by ``message`` for its recipient."""
        common = {
            "declaration_id": fact.declaration_id,
            "message_id": message.message_id,
            "recorded_by": message.sender,
            "granted_to": message.recipient,
            "subject": subject,
            "recorded_at": now,
        }
        if isinstance(fact, Withdrawal):
            self.buffer.rows["consent_withdrawals"].append(
                {**common, "withdrawn_at": fact.withdrawn_at, "by": fact.by}
            )
            return
        self.buffer.rows["consent_declarations"].append(
            {
                **common,
                "sources": json.dumps(sorted(fact.sources)),
                "categories": json.dumps(sorted(fact.categories)),
                "purposes": json.dumps(sorted(fact.purposes)),
                "explicit_health_consent": fact.explicit_health_consent,
                "valid_from": fact.valid_from,
                "valid_until": fact.valid_until,
                "explained_in_language": fact.explained_in_language,
                "interpreter_used": fact.interpreter_used,
            }
        )
