"""Who may send what, for whom, and when: the rights and freshness rules.

Pure functions over verified values; each raises the domain error the
contract names. Must not import Flask or SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from gateway.domain import policy
from gateway.domain.assignments import Assignment, in_force
from gateway.domain.message import Message, parse_utc
from gateway.domain.parties import Party
from gateway.domain.vocabulary import (
    CONSENT_DECLARATION,
    HANDOVER_PROFILE,
    MUNICIPALITY,
    PROGRESS_REPORT,
    PROVIDER_ASSIGNMENT,
)
from gateway.errors import (
    BadRequest,
    Conflict,
    NotAuthorised,
    Replay,
    SchemaViolation,
    SenderMismatch,
)


def check_v_number(value: str) -> str:
    """Raises BadRequest unless ``value`` is a V-nummer (10 digits); returns it."""
    if not (len(value) == 10 and value.isascii() and value.isdigit()):
        raise BadRequest("a V-nummer is 10 digits")
    return value


def check_sender(payload: Mapping[str, Any], key_owner: str) -> None:
    """Raises SenderMismatch when the payload's sender is not the key's owner."""
    if payload.get("sender") != key_owner:
        raise SenderMismatch()


def check_fresh(issued_at: datetime, now: datetime, window: timedelta, skew: timedelta) -> None:
    """Raises Replay when issued_at is too far in the future or older than the window."""
    if issued_at > now + skew:
        raise Replay("issued_at is in the future")
    if issued_at < now - window:
        raise Replay("issued_at is older than the replay window")


def check_rights(message: Message, sender: Party, recipient: Party | None) -> None:
    """May ``sender`` send this message to ``recipient``?

    Raises NotAuthorised when the role may not send the type, the recipient is
    not a registered municipality, or a municipality writes for another one.
    Whether a provider is assigned is ``check_assigned``, run under the write lock.
    """
    policy.require(sender.role, policy.send(message.type))
    if recipient is None or recipient.role != MUNICIPALITY:
        raise NotAuthorised("recipient is not a registered municipality")
    if sender.role == MUNICIPALITY and recipient.oin != sender.oin:
        raise NotAuthorised("a municipality records only for itself")


MAX_CONSENT = timedelta(days=5 * 366)
"""The longest a consent may run: the 3-year term, its extensions and follow-up"""


def check_placed(placed_with: str | None, municipality: str) -> None:
    """Raises NotAuthorised unless the newcomer is placed with ``municipality``.

    ``placed_with`` is the recipient of the newest accepted handover profile
    for the newcomer (None: no profile). Only that municipality steers:
    assignments, plans, and the reports of the providers it assigned.
    """
    if placed_with is None:
        raise NotAuthorised("no handover profile places this newcomer with a municipality")
    if placed_with != municipality:
        raise NotAuthorised("the newcomer is placed with another municipality")


def check_assigned(history: Iterable[Assignment], provider: str, now: datetime) -> None:
    """Raises NotAuthorised unless ``provider`` holds an assignment in force at ``now``.

    ``history`` is the recipient municipality's assignments for this newcomer.
    """
    if not in_force(history, provider, now):
        raise NotAuthorised("no provider assignment in force for this newcomer")


def check_consistency(message: Message, recipient: Party) -> None:
    """Body members that repeat the envelope must agree with it, and dates with each other.

    Raises SchemaViolation naming the disagreeing pointers (never values).
    """
    body = message.body
    wrong: list[str] = []
    if message.type == HANDOVER_PROFILE:
        identity, placement = body["identity"], body["placement"]
        if identity["v_number"] != message.v_number:
            wrong.append("/body/identity/v_number")
        if "bsn" in identity and message.bsn is not None and identity["bsn"] != message.bsn:
            wrong.append("/body/identity/bsn")
        if placement["municipality_code"] != recipient.municipality_code:
            wrong.append("/body/placement/municipality_code")
        linked = placement.get("linked_on")
        if linked is not None and date.fromisoformat(linked) > message.issued_at.date():
            wrong.append("/body/placement/linked_on")  # a koppeling the message could not know
    elif message.type == PROGRESS_REPORT:
        if body["enrolment"]["provider"] != message.sender:
            wrong.append("/body/enrolment/provider")
        period = body["enrolment"]["period"]
        if period["until"] < period["from"]:  # ISO dates compare as text
            wrong.append("/body/enrolment/period/until")
    elif message.type == CONSENT_DECLARATION:
        if body["granted_to"] != message.recipient:
            wrong.append("/body/granted_to")
        valid_from, valid_until = parse_utc(body["valid_from"]), parse_utc(body["valid_until"])
        if not valid_from < valid_until <= valid_from + MAX_CONSENT:
            wrong.append("/body/valid_until")
    elif message.type == PROVIDER_ASSIGNMENT:
        until = body.get("valid_until")
        if until is not None and parse_utc(until) <= parse_utc(body["valid_from"]):
            wrong.append("/body/valid_until")
    if wrong:
        raise SchemaViolation(
            [{"pointer": p, "keyword": "consistency"} for p in wrong],
            detail="members disagree with the envelope or each other: " + ", ".join(wrong),
        )


def check_new_declaration(already_recorded: bool) -> None:
    """Raises Conflict when the municipality recorded this declaration_id before.

    Renewed consent takes a new declaration; a recorded one never changes.
    """
    if already_recorded:
        raise Conflict(
            "declaration_id already recorded; renewed consent takes a new declaration",
            reason="declaration-exists",
        )


def check_withdrawal(declared_subject: str | None, subject: str, already_withdrawn: bool) -> None:
    """A withdrawal ends a declaration of this newcomer at this municipality, once.

    Raises SchemaViolation when there is no such declaration for this newcomer,
    Conflict when it was withdrawn before.
    """
    if declared_subject is None or declared_subject != subject:
        raise SchemaViolation(
            [{"pointer": "/body/declaration_id", "keyword": "recorded-declaration"}],
            detail="/body/declaration_id names no declaration for this newcomer here",
        )
    if already_withdrawn:
        raise Conflict(
            "this declaration was withdrawn before; a withdrawal is final",
            reason="withdrawal-final",
        )
