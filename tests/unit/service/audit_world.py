"""The audit-reading tests' shared log: five entries held before each test reads
it, and how to find the ``audit.read`` entries a read left behind.

Used by ``test_auditing`` (the log itself) and ``test_auditing_trail`` (a
newcomer's trail and own copy).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.domain.parties import Party
from gateway.domain.schemas import Catalog
from gateway.domain.vocabulary import ACCOUNTABILITY
from gateway.service.services import Services
from tests.unit.service.fake_audit import FakeAuditLog
from tests.unit.service.fakes import (
    AUDITOR,
    BSN_ANNA,
    LEIDEN,
    NOW,
    V_ANNA,
    V_BORIS,
    event,
    fake_store,
    make_services,
)

HELD = 5
"""entries in the log before each test reads it: three about Anna, one about Boris, one
about no one"""


def held_log(catalog: Catalog, tmp_path: Path) -> Services:
    """Services over the fakes with the ``HELD`` entries in the log, an hour old."""
    built = make_services(catalog, tmp_path)
    anna, boris = built.pseudonym(V_ANNA), built.pseudonym(V_BORIS)
    fake_store(built).audit.append(
        [event(anna), event(anna), event(boris), event(None, "party.registered"), event(anna)],
        NOW - timedelta(hours=1),
    )
    return built


def audit_log(services: Services) -> FakeAuditLog:
    return fake_store(services).audit


def reads(services: Services) -> list[dict[str, Any]]:
    """The ``audit.read`` entries, as (reason, actor, subject, activity) dicts."""
    return [
        {k: e[k] for k in ("index", "reason", "actor", "subject", "processing_activity")}
        for e in audit_log(services).entries()
        if e["event"] == "audit.read"
    ]


def expected_read(services: Services, reason: str, subject: str | None = None) -> dict[str, Any]:
    """The one read a test expects, at the end of the held log."""
    return {
        "index": HELD,
        "reason": reason,
        "actor": AUDITOR.oin,
        "subject": subject,
        "processing_activity": ACCOUNTABILITY,
    }


def no_personal_data_recorded(services: Services) -> None:
    raw = b"".join(row.data for row in audit_log(services).rows)
    for value in (V_ANNA, V_BORIS, BSN_ANNA):
        assert value.encode() not in raw


def as_role(role: str, oin: str = LEIDEN.oin) -> Party:
    """A party in ``role`` (at Leiden's OIN unless told): only the role check can refuse it."""
    return Party(oin, role, "Zelfde OIN, andere rol", "GM0363" if role == "municipality" else None)
