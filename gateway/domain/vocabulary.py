"""The words of the contract, in one place: message types and what each implies.

Adding a message type touches its schema file (``schemas/<type>.v1.json``),
its entry here, who may send it in ``policy``, its handler (what must
agree, what it writes), its purpose mapping and its report wording; a test walks this table and
checks that every one of those exists. No other module spells a type name
as a literal: they use the constants below. Pure: imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

HANDOVER_PROFILE = "handover-profile"
PROGRESS_REPORT = "progress-report"
PROVIDER_ASSIGNMENT = "provider-assignment"
CONSENT_DECLARATION = "consent-declaration"
CONSENT_WITHDRAWAL = "consent-withdrawal"
INTEGRATION_PLAN = "integration-plan"
DUO_FACTS = "duo-facts"
"""What DUO answered the municipality about a newcomer (raadpleging), as the municipality's
connector fetched it after a notification: sent by the municipality to itself"""
DUO_NOTIFICATION = "duo-notification"
"""DUO's notification of an event (Notificatie API), as the gateway took it in: not sent
as a JWS but posted to ``/v1/duo/notificaties`` over DUO's authenticated connection"""

CONSENT_WITHDRAWN = "consent-withdrawn"
"""Not a message type: the notice a withdrawal puts in the grantee's inbox"""
PROVIDER_BRIEF = "provider-brief"
"""Not a message type: what a provider's inbox holds of a plan"""
REGIE = "inburgering/regie"
"""A municipality reading progress against the plan, and its signals"""
BRIEFING = "inburgering/brief-aanbieder"
"""A provider receiving the brief of a plan"""

API_VERSION = "1.2.0"
"""The API's full version (Semantic Versioning): the OpenAPI document's ``info.version``
and every answer's ``API-Version`` header (ADR /core/version-header), the gateway's own
refusals before the app included. It is the interface profile's: v1 with the additions
of v1.1 and v1.2 (docs/interface.md); its major is the ``/v1`` of the paths. A backwards
compatible addition raises the minor, a fix the patch; a change that breaks a client
would be a ``/v2``."""
VERSION_HEADER = "API-Version"

COA, PROVIDER, MUNICIPALITY, AUDITOR = "coa", "provider", "municipality", "auditor"
DUO = "duo"
"""DUO (Dienst Uitvoering Onderwijs): notifies municipalities of its events"""
ROLES = (COA, PROVIDER, MUNICIPALITY, AUDITOR, DUO)

# Processing activities (Logboek Dataverwerkingen) that belong to no message type.
INTAKE = "inburgering/ontvangst-berichten"
"""A refusal before the message's type is proven"""
ADMINISTRATION = "inburgering/beheer-gateway"
"""Parties and keys registered or revoked by the operator"""
RECEIPT = "inburgering/ontvangst-gemeente"
"""A municipality acknowledging a delivery"""
ACCOUNTABILITY = "inburgering/verantwoording"
"""Reads of the audit log"""
ACCESS = "inburgering/toegang"
"""A party's request refused before its use case: another organisation's certificate"""


@dataclass(frozen=True, slots=True)
class MessageType:
    """What the gateway does with a message of one type."""

    name: str
    activity: str
    """its processing activity, at intake and when it is delivered"""
    purpose: str | None = None
    """for a type delivered to the recipient's inbox: the purpose the municipality
    processes it for, which a consent declaration must name; None: not delivered"""
    places: bool = False
    """it places its newcomer with its recipient (the newest one counts)"""
    steered: bool = False
    """only for a newcomer placed with its recipient municipality (regie, and since
    profile v1.2 consent: a declaration for a stranger is refused, not recorded)"""

    @property
    def delivered(self) -> bool:
        return self.purpose is not None


TYPES: Mapping[str, MessageType] = {
    t.name: t
    for t in (
        MessageType(
            HANDOVER_PROFILE,
            "inburgering/overdracht-coa",
            "brede-intake",
            places=True,
        ),
        MessageType(
            PROGRESS_REPORT,
            "inburgering/voortgang-aanbieder",
            "voortgang",
            steered=True,
        ),
        MessageType(
            PROVIDER_ASSIGNMENT,
            "inburgering/toewijzing-aanbieder",
            steered=True,
        ),
        MessageType(
            CONSENT_DECLARATION,
            "inburgering/toestemming",
            steered=True,
        ),
        MessageType(
            INTEGRATION_PLAN,
            "inburgering/plan-inburgering",
            steered=True,
        ),
        MessageType(
            CONSENT_WITHDRAWAL,
            "inburgering/toestemming",
            steered=True,
        ),
        MessageType(
            DUO_FACTS,
            "inburgering/feiten-duo",
            steered=True,
        ),
        MessageType(
            DUO_NOTIFICATION,
            "inburgering/notificatie-duo",
            "pip",
        ),
    )
}
MESSAGE_TYPES = tuple(TYPES)
DELIVERED_TYPES = frozenset(name for name, t in TYPES.items() if t.delivered)
