"""What a consent declaration is now, in words: since when, until when, withdrawn when and by whom.

The gateway's consent records (``GET /v1/consents``) hold each declaration's
``valid_from`` and ``valid_until`` and each withdrawal's ``withdrawn_at``,
``by`` (``data-subject``: at the newcomer's request; ``recording-party``:
revoked by the municipality) and ``message_id``. Who at the municipality
did it is not at the gateway (no staff names leave the console): a
withdrawal this console sent is found among its own actions by the
message id, with the name it was done under; one sent elsewhere is named
by the organisation that recorded it. Dates are Dutch time, in the
reader's locale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from connectors.consoles.i18n import current_language, gettext

ZONE = ZoneInfo("Europe/Amsterdam")


def moment(text: str) -> datetime:
    """An RFC 3339 time of the contract as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def local_date(text: str) -> str:
    """The day of a contract time in Dutch time, in the reader's locale ("6 december 2026")."""
    try:
        day = moment(text).astimezone(ZONE).date()
    except ValueError:
        return text
    return format_date(day, "long", locale=current_language())


def local_time(text: str) -> str:
    """A contract time in Dutch time, to the minute, in the reader's locale."""
    try:
        at = moment(text)
    except ValueError:
        return text
    return format_datetime(at, "d MMMM y HH:mm", tzinfo=ZONE, locale=current_language())


@dataclass(frozen=True)
class ConsentState:
    """One declaration as the status column shows it."""

    declaration: dict[str, Any]
    active: bool
    """in force now: the withdraw button is offered"""
    status: str
    validity: str


def _why(by: str) -> str:
    if by == "recording-party":
        return gettext("revoked by the municipality")
    return gettext("at the newcomer's request")


def _withdrawn(
    declaration: dict[str, Any],
    withdrawal: dict[str, Any],
    actors: dict[str, str],
    party: Callable[[str], str],
) -> ConsentState:
    at = str(withdrawal.get("withdrawn_at") or withdrawal.get("recorded_at") or "")
    who = actors.get(str(withdrawal.get("message_id"))) or party(
        str(withdrawal.get("recorded_by") or "")
    )
    status = gettext("active since {since}; withdrawn on {on} by {who}, {why}").format(
        since=local_date(declaration["valid_from"]),
        on=local_date(at),
        who=who,
        why=_why(str(withdrawal.get("by") or "data-subject")),
    )
    validity = f"{local_date(declaration['valid_from'])} \u2013 {local_date(at)}"
    return ConsentState(declaration, False, status, validity)


def state_of(
    declaration: dict[str, Any],
    withdrawal: dict[str, Any] | None,
    actors: dict[str, str],
    party: Callable[[str], str],
    now: datetime,
) -> ConsentState:
    """The declaration's state at ``now``; ``actors``: message id → who sent it here."""
    if withdrawal is not None:
        return _withdrawn(declaration, withdrawal, actors, party)
    since, until = declaration["valid_from"], declaration["valid_until"]
    validity = f"{local_date(since)} \u2013 {local_date(until)}"
    if now < moment(since):
        status = gettext("in force from {since}").format(since=local_date(since))
    elif now >= moment(until):
        return ConsentState(
            declaration, False, gettext("expired on {until}").format(until=local_date(until)),
            validity,
        )  # fmt: skip
    else:
        status = gettext("active since {since}; valid until {until}").format(
            since=local_date(since), until=local_date(until)
        )
    return ConsentState(declaration, True, status, validity)


def states(
    records: list[dict[str, Any]],
    sent: list[dict[str, Any]],
    party: Callable[[str], str],
    now: datetime | None = None,
) -> list[ConsentState]:
    """Every declaration of ``records`` (as the gateway listed them, newest first) with its
    state; ``sent``: this console's actions (``Store.actions``), for who withdrew."""
    withdrawals = {r["declaration_id"]: r for r in records if r.get("kind") == "withdrawal"}
    actors = {
        str(a["receipt"].get("message_id")): str(a["message"].get("actor") or "")
        for a in sent
        if a["kind"] == "withdrawal"
    }
    at = now or datetime.now(UTC)
    return [
        state_of(r, withdrawals.get(r["declaration_id"]), actors, party, at)
        for r in records
        if r.get("kind") == "declaration"
    ]
