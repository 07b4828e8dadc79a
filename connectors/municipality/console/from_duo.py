"""What DUO told the municipality about a newcomer, as the dossier shows it.

Read from the ``duo`` member of the newest progress read (gateway profile
v1.2): DUO's events (its notifications, with the family the gateway put
each in), the dates they set, and what DUO answered the municipality's
connector (``duo-facts``), in DUO's own member names. The client manager
plans with DUO's dates, not the console's guesses: the term ends when DUO
says, and a newcomer who moved in with the previous municipality's plan
(SS121) needs no new one written from scratch. Every word comes from the
catalogue; DUO's free text (an exemption's ruling, its reason) is shown
as DUO wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.consoles.i18n import N_, gettext
from connectors.municipality.console.dossier import Row, readable_date

FAMILIES = {
    "new-obligation": N_("obliged to integrate"),
    "change-of-municipality": N_("moved here from another municipality"),
    "target-group": N_("target group changed"),
    "obligation-withdrawn": N_("obligation withdrawn or suspended"),
    "obligation-met": N_("obligation met"),
    "learning-route-and-term": N_("learning route and term"),
    "exam": N_("exam result"),
    "term-changed": N_("term changed"),
    "request-decided": N_("request decided"),
    "other": N_("another event"),
}
"""gateway/domain/duo.py's families of Gebeurtenissen.md, in words"""

COMPONENTS = {
    "KNM": N_("Knowledge of Dutch Society"),
    "LE": N_("Reading skills"),
    "LU": N_("Listening skills"),
    "SC": N_("Writing skills"),
    "SP": N_("Speaking skills"),
}
"""DUO's exam components (Examen 1.0.0 ``onderdeel``); in Dutch, DUO's own words"""

RESULTS = {"Geslaagd": N_("passed"), "Gezakt": N_("failed"), "Geen": N_("no result")}
NO_RESULT = {
    "Verwijtbaar": N_("attributable to the candidate"),
    "Nietverwijtbaar": N_("not attributable to the candidate"),
    "Afgemeld": N_("cancelled"),
    "Absent": N_("absent"),
}
LEARNABILITY = {
    "B1-route haalbaar": N_("B1 route feasible"),
    "B1-route niet haalbaar": N_("B1 route not feasible"),
    "Onbekend": N_("unknown"),
}
RULINGS = {
    "GeheleVrijstelling": N_("Full exemption"),
    "TijdelijkeVrijstelling": N_("Temporary exemption"),
    "GedeeltelijkeVrijstelling": N_("Partial exemption"),
    "GeheleOntheffing": N_("Full dispensation"),
    "GedeeltelijkeOntheffing": N_("Partial dispensation"),
}
RULING_FIELDS = {
    "oordeel": N_("Ruling"),
    "reden": N_("Reason"),
    "grond": N_("Ground"),
    "datumOordeel": N_("Ruled on"),
    "startdatum": N_("From"),
    "einddatum": N_("Until"),
    "examenonderdeel": N_("Exam component"),
    "examenniveau": N_("Level"),
    "urenBelastbaarheidParticipatieactiviteit": N_("Hours of participation bearable"),
}


@dataclass
class Exam:
    day: str
    component: str
    level: str
    result: str


@dataclass
class Told:
    """The dossier's DUO part; ``known`` false when DUO told nothing (or was not read)."""

    known: bool = False
    dates: list[Row] = field(default_factory=list)
    """what the events and answers set: the term's end, the learning route's due date, ..."""
    answered_on: str | None = None
    groups: list[tuple[str, list[Row]]] = field(default_factory=list)
    """DUO's answers but the exams: (title, rows)"""
    exams: list[Exam] = field(default_factory=list)
    exams_asked: bool = False
    """whether DUO's answers carry the exam results at all (an empty list: none taken)"""
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(day, code, family in words), oldest first"""


def family(name: str) -> str:
    """An event's family in words; a family the gateway added since reads as "another event"."""
    return gettext(FAMILIES.get(name, FAMILIES["other"]))


def component(code: str) -> str:
    """An exam component in words, with DUO's code beside it, as DUO's letters name it."""
    return f"{gettext(COMPONENTS[code])} ({code})" if code in COMPONENTS else code


def _day(text: Any) -> str:
    return readable_date(str(text)[:10]) if text else ""


def told(progress: dict[str, Any] | None) -> Told:
    """The DUO part of the newest progress read (``None`` before the first read)."""
    duo = (progress or {}).get("duo") or {}
    facts = duo.get("facts") or {}
    events = duo.get("events") or []
    if not events and not facts:
        return Told()
    return Told(
        known=True,
        dates=_dates(duo, events),
        answered_on=_day(facts.get("fetched_at")) or None,
        groups=[g for g in _groups(facts) if g[1]],
        exams=[_exam(e) for e in sorted(facts.get("examenresultaten") or [], key=_exam_day)],
        exams_asked="examenresultaten" in facts,
        events=[
            (_day(e["registratieDatumTijd"]), str(e["gebeurtenisId"]), family(e.get("family", "")))
            for e in events
        ],
    )


def _exam_day(result: dict[str, Any]) -> str:
    return str(result.get("examendatum", ""))


def _dates(duo: dict[str, Any], events: list[dict[str, Any]]) -> list[Row]:
    """The dates and states DUO's events and answers set, those there are."""
    found = []
    if duo.get("term_ends"):
        found.append(Row(gettext("End of the term (DUO)"), _day(duo["term_ends"])))
    if duo.get("learning_route_due"):
        found.append(
            Row(gettext("Learning route due (after DUO's SS139)"), _day(duo["learning_route_due"]))
        )
    if duo.get("previous_plan_exists"):
        settled = [e for e in events if e["gebeurtenisId"] == "SS121"]
        found.append(
            Row(
                gettext("Previous municipality's plan"),
                gettext("exists, as DUO said ({code}, {day})").format(
                    code="SS121", day=_day(settled[-1]["registratieDatumTijd"]) if settled else "?"
                ),
            )
        )
    ended = duo.get("obligation_ended")
    if ended:
        code = str(ended["gebeurtenisId"])
        name = next((e.get("family", "") for e in events if e["gebeurtenisId"] == code), "")
        found.append(
            Row(
                gettext("Obligation ended"),
                f"{family(name)} ({code}, {_day(ended['registratieDatumTijd'])})",
            )
        )
    return found


def _groups(facts: dict[str, Any]) -> list[tuple[str, list[Row]]]:
    return [
        (gettext("Obligation to integrate"), _obligation(facts.get("inburgeringsplicht") or {})),
        (gettext("Term"), _term(facts.get("inburgeringstermijn") or {})),
        (gettext("Learnability test"), _learnability(facts.get("leerbaarheidstoets") or {})),
        (gettext("Exemptions"), _rulings(facts.get("vrijstellingen") or {})),
        (gettext("Dispensations"), _rulings(facts.get("ontheffingen") or {})),
    ]


def _rows(pairs: list[tuple[str, Any]]) -> list[Row]:
    """Labelled rows of the values there are (dates in words)."""
    return [Row(label, _day(v) if _is_date(v) else str(v)) for label, v in pairs if v]


def _is_date(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"


def _obligation(duty: dict[str, Any]) -> list[Row]:
    if not duty:
        return []
    obliged = gettext("yes") if duty.get("indicatorInburgeringsplicht") else gettext("no")
    told_on = duty.get("datumKennisgevingInburgeringsplicht")
    return [
        Row(gettext("Obliged to integrate"), obliged),
        *_rows(
            [
                (gettext("From"), duty.get("begindatum")),
                (gettext("Until"), duty.get("einddatum")),
                (gettext("Told of the obligation on"), told_on),
                (gettext("Why not obliged"), duty.get("redenGeenInburgeringsplicht")),
                (gettext("Changed on"), duty.get("wijzigingsdatum")),
            ]
        ),
    ]


def _term(term: dict[str, Any]) -> list[Row]:
    return _rows(
        [
            (gettext("Start"), term.get("startdatum")),
            (gettext("End"), term.get("einddatum")),
            (gettext("Changed on"), term.get("wijzigingsdatum")),
            (
                gettext("Extended because"),
                term.get("verlengingsgrondomschrijving") or term.get("verlengingsgrondcode"),
            ),
        ]
    )


def _learnability(test: dict[str, Any]) -> list[Row]:
    if not test:
        return []
    result = str(test["resultaat"])
    return [
        Row(gettext("Result"), gettext(LEARNABILITY[result]) if result in LEARNABILITY else result),
        Row(
            gettext("Score"),
            gettext("{achieved} (needed: {needed})").format(
                achieved=test["behaaldeScore"], needed=test["benodigdeScore"]
            ),
        ),
        Row(gettext("Taken on"), _day(test["datumAfname"])),
    ]


def _rulings(rulings: dict[str, Any]) -> list[Row]:
    """Each of DUO's rulings as one row: its kind, then its members as DUO gave them."""
    found = []
    for kind, ruling in rulings.items():
        parts = _rows(
            [
                (gettext(RULING_FIELDS[k]), component(v) if k == "examenonderdeel" else v)
                for k, v in ruling.items()
                if k in RULING_FIELDS
            ]
        )
        found.append(
            Row(
                gettext(RULINGS[kind]) if kind in RULINGS else kind,
                "; ".join(f"{r.label}: {r.text}" for r in parts),
            )
        )
    return found


def _exam(result: dict[str, Any]) -> Exam:
    words = str(result["resultaat"])
    text = gettext(RESULTS[words]) if words in RESULTS else words
    why = result.get("redenGeenResultaat")
    if why:
        text += f" ({gettext(NO_RESULT[why]) if why in NO_RESULT else why})"
    return Exam(
        _day(result["examendatum"]),
        component(str(result["onderdeel"])),
        str(result.get("niveau") or "\u2014"),
        text,
    )
