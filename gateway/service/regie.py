"""Progress against the plan, for the municipality the newcomer is placed with.

Read at the moment it is asked: the plan in force, the assignments, the
hours, and the signals, each from only what the municipality may see now
(the newest report cut by consent as a pull would cut it). Every read is a
``regie.read`` entry, one per newcomer.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from gateway.domain import assignments, consent, rights, signals
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import Event, format_time
from gateway.domain.minimise import minimise
from gateway.domain.parties import Party
from gateway.domain.records import Stored
from gateway.domain.vocabulary import PROGRESS_REPORT, REGIE, TYPES
from gateway.errors import NotAuthorised
from gateway.service.services import Services


def progress(
    services: Services, party: Party, v_number: str, now: datetime, trace_id: str
) -> dict[str, Any]:
    """The newcomer's progress and signals. Raises NotAuthorised unless placed with ``party``.

    Raises BadRequest when ``v_number`` is not a V-nummer.
    """
    rights.check_v_number(v_number)
    subject = services.pseudonym(v_number)
    stored = services.store.progress.stored(subject)
    if stored is None or stored.placed_with != party.oin:
        raise NotAuthorised("the newcomer is not placed with this municipality")
    answer = _answer(services, party, subject, stored, now)
    event = Event(
        event="regie.read",
        actor=party.oin,
        outcome="ok",
        trace_id=trace_id,
        subject=subject,
        reason="progress",
        processing_activity=REGIE,
    )
    with services.store.write() as tx:
        tx.append([event], now)
    return answer


def _answer(
    services: Services, party: Party, subject: str, stored: Stored, now: datetime
) -> dict[str, Any]:
    store = services.store.progress
    plan = store.payload(stored.plan_message).get("body") if stored.plan_message else None
    in_force = assignments.current(stored.assignments, now)
    report, visible = _report(services, party, subject, stored, now)
    facts = signals.Facts(
        placed_at=stored.placed_at,
        plan=plan,
        first_plan_dated=stored.first_plan_dated,
        assignments=tuple(in_force),
        last_report_at=stored.last_report[1] if stored.last_report else None,
        last_report=report,
        language_hours=stored.hours["language_and_knm"][0]
        if "language_and_knm" in stored.hours
        else None,
    )
    found, unknown = signals.compute(facts, visible, services.catalog.signals, now)
    return {
        "plan": plan,
        "assignments": [_assignment(a) for a in in_force],
        "hours": {k: {"total": v, "message_id": m} for k, (v, m) in sorted(stored.hours.items())},
        "signals": [
            {"code": s.code, "since": format_time(s.since), "detail": s.detail} for s in found
        ],
        "unknown_signals": unknown,
    }


def _report(
    services: Services, party: Party, subject: str, stored: Stored, now: datetime
) -> tuple[dict[str, Any], frozenset[str]]:
    """The newest report's body cut to what may be seen now, and the categories that may."""
    if stored.last_report is None:
        return {}, frozenset(signals.NEEDS.values())  # nothing withheld: nothing reported
    message_id, _, sender = stored.last_report
    history = services.store.consent.histories(party.oin, [subject])[subject]
    declarations, withdrawals = history.facts
    kind = TYPES[PROGRESS_REPORT]
    assert kind.purpose is not None
    decide = functools.partial(
        consent.evaluate,
        request=consent.Request(party.oin, sender, PROGRESS_REPORT, kind.purpose),
        now=now,
        policy=services.catalog.policy,
        declarations=declarations,
        withdrawals=withdrawals,
    )
    payload = services.store.progress.payload(message_id)
    if not payload:
        return {}, frozenset()  # erased since: nothing may be seen
    schema = services.catalog.bodies[(PROGRESS_REPORT, payload["version"])]
    cut = minimise(payload["body"], schema.categories, decide)
    visible = frozenset(c for c in signals.NEEDS.values() if decide(c).deliver)
    return cut.body, visible


def _assignment(a: Assignment) -> dict[str, Any]:
    return {
        "assignment_id": a.assignment_id,
        "provider": a.provider,
        "route": a.route,
        "valid_from": format_time(a.valid_from),
        "valid_until": format_time(a.valid_until) if a.valid_until else None,
    }
