"""Intake's write transaction: the counter lock, the log, and one writer per aggregate.

Its first statement takes the audit counter lock and reads, with it, the
data keys of the newcomers and the stored copies of the message ids the
caller names. The service appends its audit entries here and hands the rows
of what it accepted to the writers (``storage.writers``: messages and
deliveries, placements, consent, assignments, plans, progress, notices),
which share this transaction's one ``Buffer`` and write one statement per
table. Must not import the service or the web.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gateway.domain import vault
from gateway.domain.audit.events import Event
from gateway.domain.records import AuditRef, StoredMessage
from gateway.storage import statements
from gateway.storage.writers.assignments import Assignments
from gateway.storage.writers.buffer import Buffer
from gateway.storage.writers.consent import Consent
from gateway.storage.writers.duo import DuoEvents
from gateway.storage.writers.messages import Messages
from gateway.storage.writers.notices import Notices
from gateway.storage.writers.placements import Placements
from gateway.storage.writers.plans import Plans
from gateway.storage.writers.progress import Progress


class Intake:
    """One write transaction of intake: looked up, checked and recorded under the lock.

    The writers are attributes (``tx.plans``, ``tx.consent`` …), so a message
    type's handler names the ones it uses; ``gateway.service.ports.IntakeTx``
    is what the service sees of it.
    """

    def __init__(
        self,
        conn: Connection,
        keys: vault.Vault,
        subjects: Sequence[str] = (),
        message_ids: Sequence[str] = (),
    ) -> None:
        wanted = list(dict.fromkeys(subjects))
        stored_at_lock: dict[str, StoredMessage | None] | None = None
        rows: Sequence[Any]
        if len(wanted) == 1 and len(message_ids) == 1:
            params = {"subject": wanted[0], "message_id": message_ids[0]}
            rows = statements.LOCK_COUNTER_ONE.rows(conn, params)
            row = rows[0]
            stored = StoredMessage(row.message_id, row.digest, row.receipt)
            stored_at_lock = {message_ids[0]: stored if row.message_id else None}
        else:
            rows = conn.execute(statements.LOCK_COUNTER, {"subjects": wanted}).all()
            if message_ids:
                found = statements.find_messages(conn, message_ids)
                stored_at_lock = {m: found.get(m) for m in message_ids}
        self.buffer = buffer = Buffer(conn, keys, int(rows[0].next_index))
        buffer.take_keys(wanted, (row for row in rows if row.subject is not None))
        self.messages = Messages(buffer, stored_at_lock)
        self.placements = Placements(buffer)
        self.duo = DuoEvents(buffer)
        self.consent = Consent(buffer)
        self.assignments = Assignments(buffer)
        self.plans = Plans(buffer)
        self.progress = Progress(buffer)
        self.notices = Notices(buffer)

    def append(self, event: Event, now: datetime) -> AuditRef:
        """An audit entry at the next index, written with the rest."""
        return self.buffer.append(event, now)

    def flush(self) -> None:
        """Write what is buffered (``Buffer.flush``); the session calls it before commit."""
        self.buffer.flush()

    def find_messages(self, message_ids: Sequence[str]) -> dict[str, StoredMessage]:
        """``messages.find``, kept for the integration tests that call it by this name."""
        return self.messages.find(message_ids)
