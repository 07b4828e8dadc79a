"""The integration plan: a municipality records a newcomer's plan (PIP), version by version.

Under the lock, against the newcomer's earlier versions: the next version
only, dated no earlier (but by a correctie, which the acceptance entry
notes), one plan_id per newcomer, DUO's combinations (``service.plans.check``).
It writes the version and a brief of it for each provider assigned now.
Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.message import Message
from gateway.domain.plans import PlanVersion
from gateway.service import plans
from gateway.service.handlers.base import Accepted, Checked, Handler, Locked
from gateway.service.ports import IntakeSession, IntakeTx


class IntegrationPlan:
    def check(self, message: Message, session: IntakeSession) -> None:
        return None

    def check_locked(
        self, tx: IntakeTx, checked: Checked[None], now: datetime
    ) -> Locked[PlanVersion]:
        """Raises SchemaViolation or Conflict (``service.plans.check``)."""
        plan, note = plans.check(tx, checked.message, checked.subject, now)
        return Locked(plan, note)

    def write(self, tx: IntakeTx, checked: Checked[None], found: PlanVersion, at: Accepted) -> None:
        plans.brief_providers(tx, found, checked.message, checked.subject, at.index, at.now)


HANDLER: Handler[None, PlanVersion] = IntegrationPlan()
"""checked against ``base.Handler`` with its own types; ``registry`` lists it"""
