"""Progress against the plan, for the municipality the newcomer is placed with.

Read at the moment it is asked: the plan in force, the assignments, the
hours, and the signals, each from only what the municipality may see now
(the newest report cut by consent as a pull would cut it). Every read is a
``regie.read`` entry, one per newcomer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway.domain import assignments, consent, duo, policy, rights, signals
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import Event, format_time
from gateway.domain.parties import Party
from gateway.domain.records import History, Stored
from gateway.domain.vocabulary import PROGRESS_REPORT, REGIE, TYPES
from gateway.errors import BadRequest, NotAuthorised
from gateway.service.services import Services

_CLOCK_SLACK = timedelta(minutes=1)
_FORECAST_REACH = timedelta(days=1096)


def progress(
    services: Services,
    party: Party,
    v_number: str,
    now: datetime,
    trace_id: str,
    at: datetime | None = None,
    *,
    scheduled: bool = False,
) -> dict[str, Any]:
    """The newcomer's progress and signals. Raises NotAuthorised unless placed with ``party``.

    ``at``: judge the signals at that time instead of ``now`` (see :func:`forecast`).
    Raises BadRequest when ``v_number`` is not a V-nummer.
    """
    policy.require(party.role, policy.READ_REGIE)
    at = forecast(now, at)
    rights.check_v_number(v_number)
    subject = services.pseudonym(v_number)
    stored = services.store.progress.stored(subject)
    if stored is None or stored.placed_with != party.oin:
        raise NotAuthorised("the newcomer is not placed with this municipality")
    history = services.store.consent.histories(party.oin, [subject])[subject]
    answer = _answer(services, party, stored, history, now, at)
    _audit(services, party, [stored], "progress:scheduled" if scheduled else "progress", now,
           trace_id)  # fmt: skip
    return {
        "subject": _subject(stored),
        "plan": stored.plan,
        "assignments": [_assignment(a) for a in assignments.current(stored.assignments, at)],
        "hours": {k: {"total": v, "message_id": m} for k, (v, m) in sorted(stored.hours.items())},
        **_placed_on(stored),
        **answer,
        "duo": _duo(services, stored),
    }


@dataclass(frozen=True)
class SignalsPage:
    newcomers: list[dict[str, Any]]
    next_cursor: int
    """the ``after`` of the next page; a page shorter than asked is the last"""


def signals_page(
    services: Services,
    party: Party,
    after: int,
    limit: int,
    now: datetime,
    trace_id: str,
    at: datetime | None = None,
    *,
    scheduled: bool = False,
) -> SignalsPage:
    """The signals of every newcomer placed with ``party`` now, a page at a time.

    In the order they were placed (the placing profile's audit index is the
    cursor); each newcomer listed is one ``regie.read`` entry, reason ``signals`` (or
    ``signals:scheduled`` for a tool's ``scheduled`` run). ``at`` as for :func:`progress`.
    """
    policy.require(party.role, policy.READ_REGIE)
    at = forecast(now, at)
    page = services.store.progress.placed_with(party.oin, after, limit)
    if not page:
        return SignalsPage([], after)
    histories = services.store.consent.histories(party.oin, [s.subject for s in page])
    listed = [
        {
            **_subject(stored),
            "placed_at": format_time(stored.placed_at),
            **_placed_on(stored),
            **_answer(services, party, stored, histories[stored.subject], now, at),
        }
        for stored in page
    ]
    _audit(services, party, page, "signals:scheduled" if scheduled else "signals", now, trace_id)
    return SignalsPage(listed, page[-1].placement)


def forecast(now: datetime, at: datetime | None) -> datetime:
    """The time the signals are judged at: ``now``, or a later ``at`` as a forecast.

    A forecast answers "what will hold then if nothing changes" (whose term
    ends before the summer); consent is still judged ``now``, so a forecast
    can never show what may not be seen today. A past ``at`` would judge old
    times on today's data, which answers no question: it is refused.
    Raises BadRequest when ``at`` is more than a minute before ``now`` or
    beyond a term from it.
    """
    if at is None:
        return now
    if at < now - _CLOCK_SLACK:
        raise BadRequest("at may not be in the past: signals are judged on what is held now")
    if at > now + _FORECAST_REACH:
        raise BadRequest("at may be at most 1,096 days (a term) ahead")
    return max(at, now)


def _audit(
    services: Services,
    party: Party,
    read: list[Stored],
    reason: str,
    now: datetime,
    trace_id: str,
) -> None:
    events = [
        Event(
            event="regie.read",
            actor=party.oin,
            outcome="ok",
            trace_id=trace_id,
            subject=stored.subject,
            reason=reason,
            processing_activity=REGIE,
        )
        for stored in read
    ]
    with services.store.write() as tx:
        tx.append(events, now)


def _answer(
    services: Services,
    party: Party,
    stored: Stored,
    history: History,
    now: datetime,
    at: datetime,
) -> dict[str, Any]:
    """The signals that hold at ``at`` and those that cannot be computed, from what may
    be seen ``now``."""
    report, visible = _report(services, party, stored, history, now)
    facts = signals.Facts(
        placed_at=_placed(stored)[0],
        plan=stored.plan,
        first_plan_dated=stored.first_plan_dated,
        term_started=stored.term_started,
        term_ends=duo.term_ends(stored.duo.answered),
        assignments=tuple(assignments.current(stored.assignments, at)),
        last_report_at=stored.last_report[1] if stored.last_report else None,
        last_report=report,
        language_hours=stored.hours["language_and_knm"][0]
        if "language_and_knm" in stored.hours
        else None,
    )
    if stored.duo.ended is not None:  # met, suspended or ended: nothing left to signal
        return {"signals": [], "unknown_signals": [], "due_dates": []}
    found, unknown = signals.compute(facts, visible, services.catalog.signals, at)
    return {
        "signals": [
            {"code": s.code, "since": format_time(s.since), "detail": s.detail,
             "values": dict(s.values)}
            for s in found
        ],
        "unknown_signals": unknown,
        "due_dates": _due_dates(facts, history, services, at),
    }


def _due_dates(
    facts: signals.Facts, history: History, services: Services, at: datetime
) -> list[dict[str, Any]]:
    """The signals' clocks and the ends of the consents in force, soonest first."""
    found: list[dict[str, Any]] = [
        {"code": code, "due": format_time(due)}
        for code, due in signals.due_dates(facts, services.catalog.signals)
    ]
    found += [
        {"code": "consent-ends", "due": format_time(d.valid_until),
         "declaration_id": d.declaration_id, "categories": sorted(d.categories)}
        for d in consent.ending(*history.facts, at)
    ]  # fmt: skip
    return sorted(found, key=lambda d: d["due"])


def _report(
    services: Services, party: Party, stored: Stored, history: History, now: datetime
) -> tuple[dict[str, Any], frozenset[str]]:
    """The newest report's members that signals read and may be seen now, and their
    categories that may.

    Consent is asked only for the categories signals read (``signals.NEEDS``):
    nothing else of the report is needed here, so nothing else is looked at.
    """
    if stored.last_report is None or stored.report is None:
        return {}, frozenset(signals.NEEDS.values())  # nothing withheld: nothing reported
    _, _, sender = stored.last_report
    declarations, withdrawals = history.facts
    kind = TYPES[PROGRESS_REPORT]
    assert kind.purpose is not None
    request = consent.Request(party.oin, sender, PROGRESS_REPORT, kind.purpose)
    visible = frozenset(
        category
        for category in set(signals.NEEDS.values())
        if consent.evaluate(
            category,
            request=request,
            now=now,
            policy=services.catalog.policy,
            declarations=declarations,
            withdrawals=withdrawals,
        ).deliver
    )
    of = services.catalog.bodies[(PROGRESS_REPORT, stored.report["version"])].categories
    seen = {m: v for m, v in stored.report["body"].items() if of.get(m) in visible}
    return seen, visible


def _placed(stored: Stored) -> tuple[datetime, str]:
    """When the placement's clocks start, and who said so (profile v1.2).

    DUO's word first: the 10-week term for the learning route started
    (SS139), or the newcomer settled here (SS120/SS121, the notification that
    placed them); then COA's own koppelingsdatum when the profile gave it;
    else the day the gateway accepted the profile.
    """
    told = stored.duo
    if told.learning_route_from is not None:
        return told.learning_route_from, "duo"
    if told.settled is not None and told.settled.message_id == stored.placed_by:
        return told.settled.registered_at, "duo"
    if stored.linked_on is not None:
        return datetime.combine(stored.linked_on, time(0), tzinfo=UTC), "coa"
    return stored.placed_at, "received"


def _placed_on(stored: Stored) -> dict[str, str]:
    moment, source = _placed(stored)
    return {"placed_on": moment.date().isoformat(), "placed_on_source": source}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _duo(services: Services, stored: Stored) -> dict[str, Any]:
    """What DUO notified this municipality of (profile v1.2): its events, and what the
    gateway took from them."""
    told = stored.duo
    ended = told.ended
    return {
        "events": [
            {"gebeurtenisId": e.code, "registratieDatumTijd": format_time(e.registered_at),
             "family": duo.family(e.code), "berichtId": e.message_id}
            for e in told.events
        ],
        "previous_plan_exists": told.previous_plan,
        "facts": dict(told.answered) or None,
        "term_ends": _iso(duo.term_ends(told.answered)),
        "learning_route_due": _iso(told.learning_route_from and (
            told.learning_route_from + services.catalog.signals.no_plan_after).date()),
        "obligation_ended": None if ended is None else {
            "gebeurtenisId": ended.code, "registratieDatumTijd": format_time(ended.registered_at)
        },
    }  # fmt: skip


def _subject(stored: Stored) -> dict[str, str]:
    """The newcomer as the profile named them: V-nummer, and BSN when COA gave one."""
    named = {"v_number": stored.v_number}
    if stored.bsn is not None:
        named["bsn"] = stored.bsn
    return named


def _assignment(a: Assignment) -> dict[str, Any]:
    return {
        "assignment_id": a.assignment_id,
        "provider": a.provider,
        "route": a.route,
        "valid_from": format_time(a.valid_from),
        "valid_until": format_time(a.valid_until) if a.valid_until else None,
    }
