"""Consent in force: may this category of this newcomer's data leave now?

``evaluate`` is a pure function of (recipient, source party, message type,
category, purpose, now) and the newcomer's recorded declarations and
withdrawals. It answers *deliver* with the basis (``legal:<reference>`` from
the policy, or ``consent:<declaration_id>``), or *withhold* with a reason.
Nothing is ever allowed by default: a category the policy does not map, or
no declaration at all, withholds.

Declarations and withdrawals are facts recorded once and never changed: a
withdrawal ends a declaration from ``withdrawn_at`` on, for good, and renewed
consent takes a new declaration. A withdrawal by the newcomer is
``withdrawn``; one by the recording party is ``revoked`` (W3C DPV's
ConsentWithdrawn and ConsentRevoked). Must not import Flask or SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain.message import parse_utc

# The order in which a declaration's flaws are reported: the first that applies.
REASONS = (
    "withdrawn",
    "revoked",
    "not-yet-valid",
    "expired",
    "source-not-covered",
    "needs-explicit-consent",
    "no-consent",
    "never",
)


@dataclass(frozen=True, slots=True)
class Declaration:
    declaration_id: str
    granted_to: str
    sources: frozenset[str]
    categories: frozenset[str]
    purposes: frozenset[str]
    explicit_health_consent: bool
    valid_from: datetime
    valid_until: datetime
    explained_in_language: str | None = None
    """ISO 639: the language the consent was explained in (the newcomer's copy uses it)"""
    interpreter_used: bool | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Declaration:
        """From a schema-valid consent-declaration body."""
        return cls(
            declaration_id=body["declaration_id"].lower(),
            granted_to=body["granted_to"],
            sources=frozenset(body["sources"]),
            categories=frozenset(body["categories"]),
            purposes=frozenset(body["purposes"]),
            explicit_health_consent=body["explicit_health_consent"],
            valid_from=parse_utc(body["valid_from"]),
            valid_until=parse_utc(body["valid_until"]),
            explained_in_language=body.get("explained_in_language"),
            interpreter_used=body.get("interpreter_used"),
        )


@dataclass(frozen=True, slots=True)
class Withdrawal:
    declaration_id: str
    withdrawn_at: datetime
    by: str = "data-subject"  # or "recording-party": a revocation

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Withdrawal:
        """From a schema-valid consent-withdrawal body."""
        return cls(
            declaration_id=body["declaration_id"].lower(),
            withdrawn_at=parse_utc(body["withdrawn_at"]),
            by=body.get("by", "data-subject"),
        )


def withdrawal_kind(withdrawal: Withdrawal) -> str:
    """``withdrawn`` by the newcomer, or ``revoked`` by the recording party."""
    return "revoked" if withdrawal.by == "recording-party" else "withdrawn"


@dataclass(frozen=True, slots=True)
class Decision:
    category: str
    deliver: bool
    basis: str | None = None  # when delivered
    reason: str | None = None  # when withheld


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked: this category of a message of this type, from this source, for this use."""

    recipient: str
    source: str
    type: str
    purpose: str


def evaluate(
    category: str,
    request: Request,
    now: datetime,
    policy: Mapping[str, Mapping[str, str]],
    declarations: Iterable[Declaration],
    withdrawals: Iterable[Withdrawal],
) -> Decision:
    """Deliver or withhold one category at ``now``; see the module docstring."""
    rule = policy.get(request.type, {}).get(category)
    if rule is None:
        return Decision(category, deliver=False, reason="no-consent")
    if rule == "never":  # policy: it never leaves for anyone but its sender
        return Decision(category, deliver=False, reason="never")
    if rule.startswith("legal:"):
        return Decision(category, deliver=True, basis=rule)
    explicit = rule == "explicit-consent"
    ended = {w.declaration_id: w for w in withdrawals if w.withdrawn_at <= now}
    relevant = [
        d
        for d in declarations
        if d.granted_to == request.recipient
        and category in d.categories
        and request.purpose in d.purposes
    ]
    flaws: list[str] = []
    # Newest first, so that a tie is decided by the most recent declaration.
    for declaration in sorted(relevant, key=lambda d: d.valid_from, reverse=True):
        flaw = _flaw(declaration, request, now, explicit, ended.get(declaration.declaration_id))
        if flaw is None:
            return Decision(category, deliver=True, basis=f"consent:{declaration.declaration_id}")
        flaws.append(flaw)
    reason = min(flaws, key=REASONS.index) if flaws else "no-consent"
    return Decision(category, deliver=False, reason=reason)


def _flaw(
    declaration: Declaration,
    request: Request,
    now: datetime,
    explicit: bool,
    withdrawal: Withdrawal | None,
) -> str | None:
    if withdrawal is not None:
        return withdrawal_kind(withdrawal)
    if now < declaration.valid_from:
        return "not-yet-valid"
    if now >= declaration.valid_until:
        return "expired"
    if request.source not in declaration.sources:
        return "source-not-covered"
    if explicit and not declaration.explicit_health_consent:
        return "needs-explicit-consent"
    return None


def no_other_basis(
    withdrawn: Declaration,
    others: Iterable[Declaration],
    withdrawals: Iterable[Withdrawal],
    policy: Mapping[str, Mapping[str, str]],
    now: datetime,
) -> tuple[str, ...]:
    """The categories of ``withdrawn`` that nothing else lets leave any more, sorted.

    A category stays covered when the policy gives it a legal basis wherever
    it occurs, or another declaration in force at ``now`` (same municipality,
    not withdrawn) names it for every source and purpose the withdrawn one
    named it for. What is left is what the recipient must stop using.
    """
    ended = {w.declaration_id for w in withdrawals if w.withdrawn_at <= now}
    standing = [
        d
        for d in others
        if d.declaration_id != withdrawn.declaration_id
        and d.declaration_id not in ended
        and d.granted_to == withdrawn.granted_to
        and d.valid_from <= now < d.valid_until
        and withdrawn.sources <= d.sources
        and withdrawn.purposes <= d.purposes
    ]
    left = []
    for category in sorted(withdrawn.categories):
        bases = [rules[category] for rules in policy.values() if category in rules]
        if bases and all(b.startswith("legal:") for b in bases):
            continue
        if any(category in d.categories for d in standing):
            continue
        left.append(category)
    return tuple(left)


def ending(
    declarations: Iterable[Declaration], withdrawals: Iterable[Withdrawal], at: datetime
) -> list[Declaration]:
    """The declarations in force at ``at`` whose end is work to do, soonest first.

    One in force (begun, not ended, not withdrawn: a withdrawal, even one
    dated later, means nobody renews it) runs out at its ``valid_until``;
    unless a renewal carries it on: another such declaration, to the same
    municipality, begun by that end and lasting past it, that covers every
    source, category and purpose it named (and the explicit health consent
    when it had one). Then nothing is to be done before the renewal ends.
    """
    gone = {w.declaration_id for w in withdrawals}
    live = [d for d in declarations if d.declaration_id not in gone and at < d.valid_until]

    def carried(d: Declaration) -> bool:
        return any(
            e is not d
            and e.granted_to == d.granted_to
            and e.valid_from <= d.valid_until < e.valid_until
            and d.sources <= e.sources
            and d.categories <= e.categories
            and d.purposes <= e.purposes
            and (e.explicit_health_consent or not d.explicit_health_consent)
            for e in live
        )

    due = [d for d in live if d.valid_from <= at and not carried(d)]
    return sorted(due, key=lambda d: (d.valid_until, d.declaration_id))
