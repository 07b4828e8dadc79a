"""A refusal of the gateway said in the reader's language, with the rule behind it.

The gateway's problem document carries a stable ``code`` (a ``reason`` for a
conflict) and, for a schema violation, the ``pointer`` and ``keyword`` of
each member at fault; its ``detail`` and each error's ``rule`` are English,
written for a developer. A client manager reads neither: the console maps
the code, the pointer and the keyword (and, for DUO's plan rules, the plan
it sent, which tells the three rules at ``/body/level`` apart) to a sentence
from the catalogue and names the rule and the field in words. What it has
no sentence for is said generically, the field named in words; never the
English detail, never the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.consoles.i18n import N_, gettext
from connectors.municipality.console import labels
from gateway.errors import Conflict, GatewayError, SchemaViolation

DUO_LEVEL = N_("DUO's combinations of route and level")
DUO_HOURS = N_("DUO's estimated hours, on the B1 route only")
VERSIONS = N_("the versions of a plan, one after another")
DATES = N_("the dates of the Wet inburgering 2021")
SCHEMA = N_("the message format agreed with the gateway")

KEYWORDS = {
    "required": N_("is required"),
    "enum": N_("is not one of the allowed values"),
    "const": N_("is not the allowed value"),
    "format": N_("does not have the required form"),
    "pattern": N_("does not have the required form"),
    "minimum": N_("is outside the allowed range"),
    "maximum": N_("is outside the allowed range"),
    "range": N_("is outside the allowed range"),
    "minLength": N_("is too short or too long"),
    "maxLength": N_("is too short or too long"),
    "minItems": N_("has too few or too many entries"),
    "maxItems": N_("has too few or too many entries"),
    "additionalProperties": N_("is not expected here"),
}

CONFLICTS = {
    "plan-version": N_(
        "Another version of this plan was sent meanwhile: reload the page and start from the "
        "newest version."
    ),
    "plan-exists": N_(
        "This newcomer already has a plan from your municipality: send a new version of it instead."
    ),
    "plan-id-taken": N_("This plan belongs to another newcomer or municipality."),
    "assignment-exists": N_("This assignment was already sent with other content."),
    "declaration-exists": N_("This consent declaration was already recorded."),
    "withdrawal-final": N_("This consent was already withdrawn; a withdrawal is final."),
    "subject-erased": N_(
        "This newcomer's data was erased at the gateway: nothing more can be sent about them."
    ),
}

HINTS = {
    "not-authorised": N_(
        "Check that the newcomer is placed with your municipality (a newer profile may have "
        "placed them elsewhere)."
    ),
    "conflict": N_("Someone changed this meanwhile: reload the page and try again."),
    "transport": N_(
        "The gateway could not be reached: nothing was recorded. Try again in a moment."
    ),
    "unavailable": N_(
        "The gateway is busy or its database away: try again in a moment (sending again never "
        "records twice)."
    ),
    "rate-limited": N_("The gateway asks to wait a moment: nothing was recorded. Try again."),
}


@dataclass(frozen=True)
class Refusal:
    """One reason for a refusal: the sentence, the rule behind it, the field it concerns."""

    sentence: str
    rule: str = ""
    field: str = ""

    def words(self) -> str:
        """The reason as the page says it: the sentence, then the rule and the field."""
        if self.rule and self.field:
            return gettext("{sentence} (Rule: {rule}; field: {field}.)").format(
                sentence=self.sentence, rule=self.rule, field=self.field
            )
        if self.rule:
            return gettext("{sentence} (Rule: {rule}.)").format(
                sentence=self.sentence, rule=self.rule
            )
        return self.sentence


def _field(pointer: str) -> str:
    """The member a pointer names, in words (the last name in it that has words)."""
    names = [p for p in pointer.split("/") if p and not p.isdigit() and p != "body"]
    for name in reversed(names):
        if name in labels.FIELDS:
            return labels.field(name)
    return gettext("a field of the message")


def _plan_rule(
    pointer: str, keyword: str, body: Mapping[str, Any], first: bool
) -> tuple[str, str] | None:
    """(sentence, rule) of DUO's combination rules and the rules of plan versions
    (``gateway.domain.plans``), told apart by the plan that was sent."""
    route, level = body.get("route"), body.get("level")
    if pointer == "/body/level" and keyword == "combination":
        if level == "A2" and route == "onderwijsroute":
            return N_("A2 is not a level of the education route: choose B1 or no level."), DUO_LEVEL
        if level == "B1" and route == "z-route":
            return N_("The Z-route has no B1 level: choose no level or A2."), DUO_LEVEL
        if level == "A2" and route == "b1-route" and first:
            return (
                N_(
                    "A first plan on the B1 route aims at B1; A2 comes only later, by stepping "
                    "down (afschalen) in a new version of the plan."
                ),
                DUO_LEVEL,
            )
    if pointer == "/body/estimated_hours_b1" and keyword == "combination":
        return N_("Hours to B1 are estimated on the B1 route only: leave them empty."), DUO_HOURS
    if pointer == "/body/change_reason":
        if keyword == "required":
            return N_("A new version says why the plan changes: choose a reason."), VERSIONS
        if keyword == "enum":
            return N_("The first version of a plan has no reason for a change."), VERSIONS
    if pointer == "/body/dated" and keyword == "minimum":
        return (
            N_("The plan is dated before its previous version; only a correction may do that."),
            VERSIONS,
        )
    if pointer == "/body/dated" and keyword == "range":
        return N_("The plan is dated from 1 January 2022 to at most a year from today."), DATES
    return None


def _violations(
    error: SchemaViolation, body: Mapping[str, Any] | None, first: bool
) -> list[Refusal]:
    found: list[Refusal] = []
    for problem in error.errors or [{"pointer": "", "keyword": ""}]:
        pointer, keyword = str(problem.get("pointer", "")), str(problem.get("keyword", ""))
        known = _plan_rule(pointer, keyword, body, first) if body is not None else None
        if known:
            refusal = Refusal(gettext(known[0]), gettext(known[1]), _field(pointer))
        else:
            what = KEYWORDS.get(keyword, N_("does not meet the rules"))
            named = _field(pointer)
            refusal = Refusal(
                gettext("{field} {what}.").format(
                    field=named[:1].upper() + named[1:], what=gettext(what)
                ),
                gettext(SCHEMA),
            )
        if refusal not in found:
            found.append(refusal)
    return found


def reasons(
    error: GatewayError, body: Mapping[str, Any] | None = None, first: bool = False
) -> list[Refusal]:
    """Why the gateway refused, in the reader's language; ``body`` the plan that was sent
    (``first``: no plan before it), to tell DUO's rules apart."""
    if isinstance(error, SchemaViolation):
        return _violations(error, body, first)
    if isinstance(error, Conflict) and error.reason in CONFLICTS:
        return [Refusal(gettext(CONFLICTS[error.reason]))]
    hint = HINTS.get(error.code, N_("The gateway did not accept the message."))
    return [Refusal(gettext(hint))]


def refusal_words(
    error: GatewayError, body: Mapping[str, Any] | None = None, first: bool = False
) -> str:
    """A refusal as one notice: that it was refused, why, by which rule, and that nothing
    was recorded."""
    said = " ".join(r.words() for r in reasons(error, body, first))
    return gettext("Refused by the gateway, nothing was recorded: {reasons}").format(reasons=said)
