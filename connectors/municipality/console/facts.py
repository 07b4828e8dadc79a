"""What the console knows of each newcomer, gathered from its store.

Placement and signals from the newest signals walk; the plan and the
assignments from the newest progress read (and from what this console
sent itself); reports and the profile from the deliveries kept. Everything
is as far as consent let it reach the municipality: a category withheld
is simply not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.municipality.console.store import Kept, Store
from gateway.client import wire

PROFILE, REPORT = "handover-profile", "progress-report"


@dataclass
class Newcomer:
    v_number: str
    placed_at: datetime
    bsn: str | None = None
    name: str = ""
    route: str | None = None
    provider: str | None = None
    first_plan_at: datetime | None = None
    first_report_at: datetime | None = None
    attendance: float | None = None
    """hours attended / planned in the newest report that let it be seen"""
    assessments: list[tuple[str, str, str]] = field(default_factory=list)
    """(skill, date, level) of every assessment in the reports kept"""
    signals: list[str] = field(default_factory=list)
    unknown_signals: list[str] = field(default_factory=list)
    signals_read_at: str | None = None


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)


def name_of(profile: dict[str, Any] | None) -> str:
    identity = (profile or {}).get("body", {}).get("identity", {})
    return " ".join(p for p in (identity.get("given_names"), identity.get("family_name")) if p)


def gather(store: Store) -> list[Newcomer]:
    """Every newcomer placed with the municipality, by the newest signals walk (or, before
    the first walk, every newcomer whose profile was pulled), oldest placement first."""
    by_subject: dict[str, list[Kept]] = {}
    for one in store.deliveries():
        by_subject.setdefault(one.v_number, []).append(one)
    listed = store.reads("signals")
    progress = store.reads("progress")
    actions: dict[str, list[dict[str, Any]]] = {}
    for action in store.actions():
        actions.setdefault(str(action["message"]["subject"]["v_number"]), []).append(action)
    subjects = list(listed) or [
        v for v, ks in by_subject.items() if any(k.type == PROFILE for k in ks)
    ]
    found = []
    for v_number in subjects:
        kept = by_subject.get(v_number, [])
        profiles = [k.document for k in kept if k.type == PROFILE]
        reports = [k.document for k in kept if k.type == REPORT]
        read_at, signals = listed.get(v_number, (None, {}))
        # the placement's own date (COA's koppelingsdatum) where the gateway gives it (v1.2)
        on = signals.get("placed_on")
        placed = (f"{on}T00:00:00Z" if on else signals.get("placed_at")) or (
            profiles[-1]["received_at"] if profiles else None
        )
        if placed is None:
            continue
        person = Newcomer(
            v_number,
            wire.parse_time(str(placed)),
            bsn=signals.get("bsn"),
            name=name_of(profiles[-1] if profiles else None),
            signals=[s["code"] for s in signals.get("signals", [])],
            unknown_signals=list(signals.get("unknown_signals", [])),
            signals_read_at=read_at,
        )
        _plan_facts(person, progress.get(v_number, (None, {}))[1], actions.get(v_number, []))
        _report_facts(person, reports)
        found.append(person)
    return sorted(found, key=lambda p: (p.placed_at, p.v_number))


def _plan_facts(person: Newcomer, progress: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    plans = [a["message"]["body"] for a in sent if a["kind"] == "plan"]
    if progress.get("plan"):
        plans.append(progress["plan"])
    if plans:
        person.route = str(plans[-1]["route"])
        person.first_plan_at = min(_day(str(p["dated"])) for p in plans)
    in_force = progress.get("assignments") or []
    assigned = [a["message"]["body"] for a in sent if a["kind"] == "assignment"]
    if in_force:
        person.provider = str(in_force[0]["provider"])
    elif assigned:
        person.provider = str(assigned[-1]["provider"])


def _report_facts(person: Newcomer, reports: list[dict[str, Any]]) -> None:
    if not reports:
        return
    person.first_report_at = wire.parse_time(str(reports[0]["received_at"]))
    for report in reports:
        body = report.get("body", {})
        enrolment = body.get("enrolment", {})
        person.route = person.route or enrolment.get("route")
        person.provider = person.provider or enrolment.get("provider")
        attendance = body.get("attendance")
        if attendance and attendance.get("hours_planned"):
            person.attendance = attendance["hours_attended"] / attendance["hours_planned"]
        for a in body.get("language_levels", {}).get("assessments", []):
            entry = (str(a["skill"]), str(a["date"]), str(a["level"]))
            if entry not in person.assessments:
                person.assessments.append(entry)
