"""Every message type's handler, by type name: the one place intake finds them.

A test checks that each type of ``domain.vocabulary.TYPES`` has one here
and nothing else does. Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.domain.vocabulary import (
    CONSENT_DECLARATION,
    CONSENT_WITHDRAWAL,
    HANDOVER_PROFILE,
    INTEGRATION_PLAN,
    PROGRESS_REPORT,
    PROVIDER_ASSIGNMENT,
)
from gateway.service.handlers import (
    consent_declaration,
    consent_withdrawal,
    handover_profile,
    integration_plan,
    progress_report,
    provider_assignment,
)
from gateway.service.handlers.base import Handler

HANDLERS: Mapping[str, Handler[Any, Any]] = {
    HANDOVER_PROFILE: handover_profile.HANDLER,
    PROGRESS_REPORT: progress_report.HANDLER,
    PROVIDER_ASSIGNMENT: provider_assignment.HANDLER,
    INTEGRATION_PLAN: integration_plan.HANDLER,
    CONSENT_DECLARATION: consent_declaration.HANDLER,
    CONSENT_WITHDRAWAL: consent_withdrawal.HANDLER,
}


def handler(type_name: str) -> Handler[Any, Any]:
    """The handler of a message type that passed the schema step (so it is in the vocabulary)."""
    return HANDLERS[type_name]
