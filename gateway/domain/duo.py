"""DUO's events, as DUO's Gebeurtenissen.md names them, and what regie takes from them.

The source is github.com/duonl/gemeente-m2m-inburgering at f4973d4
(``Gebeurtenissen/Gebeurtenissen.md``); a notification carries the event's
code and when DUO registered it, nothing else: the facts behind it are
fetched from DUO's APIs (docs/architecture.md, "DUO, both ways"). What
the gateway acts on:

- SS139: the newcomer is obliged and the 10-week term for setting the
  learning route started: the ``no-plan`` clock runs from its registration;
- SS120 / SS121: the newcomer settled in the municipality notified,
  without / with the previous municipality's plan (PIP): they are placed
  there, as by a later handover profile (``places``);
- SS106-SS111: the obligation is met (diploma, exemption, dispensation),
  suspended (temporary exemption) or ended (withdrawn, died): regie's
  signals stop, until an event that resumes it (``RESUMES``).

Every other event is recorded, delivered and shown, and changes nothing.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from gateway.domain.schemas import is_bsn
from gateway.errors import BadRequest

LEARNING_ROUTE_TERM = "SS139"
SETTLED = {"SS120": False, "SS121": True}
"""settled in the municipality notified → with the previous municipality's plan"""
ENDS = frozenset({"SS106", "SS107", "SS108", "SS109", "SS110", "SS111"})
"""the obligation met (106-108), suspended (109) or ended (110, 111)"""
RESUMES = frozenset({"SS101", "SS128", "SS129", "SS130", "SS139"})
"""obliged (again): an earlier end no longer holds"""
TERM = frozenset({"SS102", "SS103", "SS104", "SS130"})
"""the term started or changed: its end date is the Inburgeringstermijn's"""

FAMILIES = {
    "new-obligation": frozenset({"SS101", "SS128", "SS139", "SS129"}),
    "change-of-municipality": frozenset(SETTLED),
    "target-group": frozenset({"SS124", "SS125"}),
    "obligation-withdrawn": frozenset({"SS109", "SS110", "SS111"}),
    "obligation-met": frozenset({"SS106", "SS107", "SS108"}),
    "learning-route-and-term": frozenset({"SS137", "SS131", "SS102"}),
    "exam": frozenset({"SS199"}),
    "term-changed": frozenset({"SS103", "SS104", "SS130"}),
    "request-decided": frozenset({"SS113", "SS114", "SS115", "SS116", "SS117", "SS118",
                                  "SS119"}),
}  # fmt: skip
"""Gebeurtenissen.md's sections, for the words a person reads; an unknown code has none"""


def places(event: str) -> bool:
    """Whether the event settles the newcomer with the municipality it was sent to."""
    return event in SETTLED


def family(event: str) -> str:
    """The section of Gebeurtenissen.md the event is in (the first, for SS129 and
    SS130, which two sections list); ``other`` for a code DUO added since."""
    return next((name for name, codes in FAMILIES.items() if event in codes), "other")


@dataclass(frozen=True, slots=True)
class Event:
    """One DUO event about a newcomer at one municipality."""

    code: str
    registered_at: datetime
    message_id: str


@dataclass(frozen=True)
class Facts:
    """What regie takes from DUO's events at the municipality the newcomer is placed with."""

    events: tuple[Event, ...] = ()
    """oldest first"""
    learning_route_from: datetime | None = None
    """the newest SS139: when the 10-week term for the learning route started"""
    settled: Event | None = None
    """the newest SS120/SS121"""
    ended: Event | None = None
    """the newest end of the obligation that no later event resumed"""
    answered: Mapping[str, Any] = field(default_factory=dict)
    """what DUO answered the municipality (``duo-facts``), the newest of each member"""

    @property
    def previous_plan(self) -> bool:
        """DUO said the newcomer came with the previous municipality's plan (SS121)."""
        return self.settled is not None and SETTLED[self.settled.code]


def facts(events: Iterable[Event], answers: Iterable[Mapping[str, Any]] = ()) -> Facts:
    """The facts of a newcomer's events at one municipality, in any order, and DUO's
    answers to it, oldest first (a later answer's member replaces an earlier one's)."""
    ordered = tuple(sorted(events, key=lambda e: e.registered_at))
    learning = [e.registered_at for e in ordered if e.code == LEARNING_ROUTE_TERM]
    settled = [e for e in ordered if e.code in SETTLED]
    ended: Event | None = None
    for event in ordered:
        if event.code in ENDS:
            ended = event
        elif event.code in RESUMES:
            ended = None
    return Facts(
        events=ordered,
        learning_route_from=learning[-1] if learning else None,
        settled=settled[-1] if settled else None,
        ended=ended,
        answered=merged(answers),
    )


def merged(answers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """DUO's answers, oldest first, as one: each member the newest given; ``fetched_at``
    the newest answer's."""
    found: dict[str, Any] = {}
    for answer in answers:
        found.update({k: v for k, v in answer.items() if k != "in_answer_to"})
    return found


def term_ends(answered: Mapping[str, Any]) -> date | None:
    """The end of the newcomer's term as DUO set it (Inburgeringstermijn ``einddatum``)."""
    term = answered.get("inburgeringstermijn")
    return date.fromisoformat(term["einddatum"]) if term else None


@dataclass(frozen=True, slots=True)
class Notification:
    """DUO's ``Notificatie`` body, checked: its event, when DUO registered it, the newcomer."""

    event: str
    registered_at: datetime
    v_number: str
    bsn: str | None


_EVENT = re.compile(r"[0-9A-Z]{1,6}")
_BSN = re.compile(r"[0-9]{9}")
_EARLIEST, _LATEST = 1900, 2100


def read_notification(body: Mapping[str, Any]) -> Notification:
    """DUO's Notificatie (API/Notificatie/openapi.yml 1.8.0) as the gateway takes it.

    DUO's document allows members it does not name: they are left out, not
    refused. The newcomer must be named by ``vNummer``: the gateway knows
    newcomers by their V-nummer and holds no index by BSN (docs/interface.md).
    Raises BadRequest naming the member (never its value).
    """
    event = body.get("gebeurtenisId")
    if not isinstance(event, str) or not _EVENT.fullmatch(event):
        raise BadRequest("gebeurtenisId moet 1 tot 6 hoofdletters of cijfers zijn")
    when = body.get("registratieDatumTijd")
    registered = _instant(when) if isinstance(when, str) else None
    if registered is None:
        raise BadRequest("registratieDatumTijd moet een datum-tijd zijn (RFC 3339, met zone)")
    number = body.get("vNummer")
    if number is None:
        raise BadRequest("vNummer ontbreekt: de gateway kent inburgeraars bij hun V-nummer")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 9999999999:
        raise BadRequest("vNummer moet een geheel getal van 0 tot en met 9999999999 zijn")
    bsn = body.get("bsn")
    if "bsn" in body and (not isinstance(bsn, str) or not _BSN.fullmatch(bsn)):  # null too
        raise BadRequest("bsn moet 9 cijfers zijn")
    if bsn is not None and not is_bsn(bsn):  # DUO's document answers no 422
        raise BadRequest("bsn voldoet niet aan de elfproef")
    return Notification(event, registered, f"{number:010d}", bsn)


def _instant(text: str) -> datetime | None:
    """An RFC 3339 date-time with its zone, in UTC, within 1900-2100; None otherwise."""
    if not _DATE_TIME.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if not _EARLIEST <= moment.year <= _LATEST:
        return None  # before UTC: 9999-12-31T23:59-01:00 would not fit in a datetime
    moment = moment.astimezone(UTC)
    return moment if _EARLIEST <= moment.year <= _LATEST else None


_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
