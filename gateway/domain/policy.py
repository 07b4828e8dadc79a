"""Who may do what: one table from a party's role to its capabilities.

Every use case names the capability it needs and the service layer asks
``require`` before it reads or writes anything, so a wrong role learns
nothing about what exists. The web layer only authenticates. Adding a role
is a row here, its rule where its data is cut (a handler or a reader), and
its words (``vocabulary.ROLES`` and the catalogues); nothing else spells a
role to decide a permission. Pure: imports only the vocabulary and errors.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.domain.vocabulary import (
    AUDITOR,
    COA,
    CONSENT_DECLARATION,
    CONSENT_WITHDRAWAL,
    DUO,
    DUO_FACTS,
    DUO_NOTIFICATION,
    HANDOVER_PROFILE,
    INTEGRATION_PLAN,
    MESSAGE_TYPES,
    MUNICIPALITY,
    PROGRESS_REPORT,
    PROVIDER,
    PROVIDER_ASSIGNMENT,
    ROLES,
)
from gateway.errors import NotAuthorised

# What a party may read or do, besides sending messages (``send``).
PULL_DELIVERIES = "inbox.pull-deliveries"
"""an inbox of deliveries cut by consent (the handover profile, reports, notices)"""
PULL_BRIEFS = "inbox.pull-briefs"
"""an inbox of the briefs of the plans it was assigned; also: may be assigned"""
ACKNOWLEDGE = "inbox.acknowledge"
"""acknowledge what its inbox delivered"""
READ_CONSENTS = "consents.read"
"""the consent history of a newcomer placed with it"""
READ_PROFILE = "profile.read"
"""the handover profile that placed a newcomer with it, read again"""
READ_REGIE = "regie.read"
"""progress against the plan, signals, and the access report of its newcomers"""
READ_CHECKPOINT = "log.checkpoint"
"""the newest signed checkpoint of the audit log (every party may hold the log to it)"""
READ_LOG = "log.read"
"""the audit log itself: entries, export, proofs, checkpoints, a subject's entries"""
READ_DIRECTORY = "directory.read"
"""the registered parties"""


def send(message_type: str) -> str:
    """The capability of sending messages of ``message_type``."""
    return f"send.{message_type}"


_EVERYONE = frozenset({READ_CHECKPOINT, READ_DIRECTORY})

GRANTS: Mapping[str, frozenset[str]] = {
    COA: _EVERYONE | {send(HANDOVER_PROFILE), send(CONSENT_DECLARATION), send(CONSENT_WITHDRAWAL)},
    PROVIDER: _EVERYONE | {send(PROGRESS_REPORT), PULL_BRIEFS, ACKNOWLEDGE},
    MUNICIPALITY: _EVERYONE
    | {
        send(PROVIDER_ASSIGNMENT),
        send(INTEGRATION_PLAN),
        send(DUO_FACTS),
        send(CONSENT_DECLARATION),
        send(CONSENT_WITHDRAWAL),
        PULL_DELIVERIES,
        ACKNOWLEDGE,
        READ_CONSENTS,
        READ_PROFILE,
        READ_REGIE,
    },
    AUDITOR: _EVERYONE | {READ_LOG},
    DUO: _EVERYONE | {send(DUO_NOTIFICATION)},
}
"""The table. A role not in it may do nothing; a capability not in a row is refused."""

CAPABILITIES = frozenset(
    {
        PULL_DELIVERIES,
        PULL_BRIEFS,
        ACKNOWLEDGE,
        READ_CONSENTS,
        READ_PROFILE,
        READ_REGIE,
        READ_CHECKPOINT,
        READ_LOG,
        READ_DIRECTORY,
        *(send(t) for t in MESSAGE_TYPES),
    }
)
"""Every capability there is (a test checks the table names no other)"""


_VERIFIED_BY_RECIPIENTS = frozenset({COA})


def verified_by_recipients(role: str) -> bool:
    """Whether a party of ``role`` signs what its recipients verify themselves (COA's
    version-2 profile, RFC 9901): its keys are published to every party
    (``GET /v1/parties/{oin}/keys``)."""
    return role in _VERIFIED_BY_RECIPIENTS


def may(role: str, capability: str) -> bool:
    """Whether a party of ``role`` holds ``capability``."""
    return capability in GRANTS.get(role, frozenset())


def require(role: str, capability: str) -> None:
    """Raises NotAuthorised unless ``role`` holds ``capability``.

    The detail names the role and what it tried, never whom or what it was about.
    """
    if not may(role, capability):
        what = capability.removeprefix("send.")
        if capability.startswith("send."):
            raise NotAuthorised(f"role {role} may not send {what}")
        raise NotAuthorised(f"role {role} may not read this")


def roles_with(capability: str) -> frozenset[str]:
    """The roles that hold ``capability`` (for documentation and the command line)."""
    return frozenset(role for role in ROLES if may(role, capability))
