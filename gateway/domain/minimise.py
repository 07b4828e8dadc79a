"""Data minimisation: cut a message body to the categories that may leave.

Driven by the schemas' ``x-category`` annotations (top-level member →
category) and the consent decisions, never by code that knows field names.
A member whose category is not delivered is dropped whole; a member the
schema does not categorise is never delivered. Must not import Flask or SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.consent import Decision


@dataclass(frozen=True)
class Minimised:
    body: dict[str, Any]
    delivered: tuple[str, ...]
    withheld: tuple[str, ...]
    basis: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing deliverable: such a message is not shown at all."""
        return not self.body


def minimise(
    body: Mapping[str, Any],
    categories: Mapping[str, str],
    decide: Callable[[str], Decision],
) -> Minimised:
    """Keep the members whose category ``decide`` delivers; name the rest.

    ``categories`` maps each top-level member to its category (the schema's
    x-category); ``decide`` is asked once per category present in the body.
    """
    present = sorted({categories.get(member, "") for member in body} - {""})
    decisions = {category: decide(category) for category in present}
    kept = {
        member: value
        for member, value in body.items()
        if member in categories and decisions[categories[member]].deliver
    }
    delivered = tuple(c for c in present if decisions[c].deliver)
    withheld = tuple(c for c in present if not decisions[c].deliver)
    return Minimised(
        body=kept,
        delivered=delivered,
        withheld=withheld,
        basis={c: decisions[c].basis or "" for c in delivered},
        reasons={c: decisions[c].reason or "" for c in withheld},
    )
