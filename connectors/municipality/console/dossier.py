"""One newcomer's dossier: the blue folder by category, progress, plan, and what was withheld.

Built from the store alone (the progress and consent reads are kept there
by the views), so a dossier opens while the gateway is away, saying how
old each part is. Every category of a profile or report is in one of four
states: shown, withheld (with the reason and what would release it),
withdrawn (removed after a withdrawal notice, with when), or not in the
message at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel.dates import format_date

from connectors.common.inbox import NOTICE
from connectors.consoles.i18n import current_language, gettext
from connectors.municipality.console import categories, labels
from connectors.municipality.console.facts import PROFILE, REPORT, name_of
from connectors.municipality.console.store import Store

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CEFR = ("A0", "A1", "A2", "B1", "B2", "C1", "C2")


@dataclass
class Row:
    label: str
    text: str = ""
    items: list[list[Row]] = field(default_factory=list)
    """for a list of objects: one list of rows per object"""

    @property
    def columns(self) -> list[str]:
        """The labels of the objects of ``items``, in order of first appearance (a table)."""
        found: dict[str, None] = {}
        for item in self.items:
            found.update(dict.fromkeys(r.label for r in item))
        return list(found)

    def cell(self, item: list[Row], column: str) -> str:
        return next((r.text for r in item if r.label == column), "")


@dataclass
class Section:
    category: str
    title: str
    state: str
    """shown | withheld | withdrawn | absent"""
    rows: list[Row] = field(default_factory=list)
    why: str = ""


@dataclass
class Report:
    received_at: str
    period: str
    sections: list[Section]
    attendance: tuple[float, float] | None


@dataclass
class Dossier:
    v_number: str
    name: str
    bsn: str | None
    profile: list[Section]
    profile_received_at: str | None
    reports: list[Report]
    levels: dict[str, list[tuple[str, str]]]
    """skill → [(date, level)] over every report, oldest first"""
    level_dates: list[str]
    exams: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    progress: dict[str, Any] | None
    progress_read_at: str | None
    consents: list[dict[str, Any]] | None
    signals: dict[str, Any]
    profile_signature: dict[str, str] | None = None
    """the newest profile's ``coa_signature`` (issuer, kid): verified here against COA's
    pinned key (a version 2); None for a profile only the gateway signed"""


def text_of(value: Any, name: str = "") -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, str) and DATE.match(value):
        return readable_date(value)
    if isinstance(value, list):
        return ", ".join(text_of(v, name) for v in value)
    if isinstance(value, str):
        return labels.value(value, name)
    return str(value)


def readable_date(text: str) -> str:
    try:
        return format_date(date.fromisoformat(text[:10]), "long", locale=current_language())
    except ValueError:
        return text


PARTY_FIELDS = frozenset({"provider", "granted_to", "sources"})


def rows_of(obj: dict[str, Any], party: Callable[[str], str] = str) -> list[Row]:
    """A body member's content as labelled rows, nested objects and lists included;
    ``party`` names an organisation by its OIN."""
    found = []
    for name, value in obj.items():
        if value in ([], {}, ""):
            continue
        if name in PARTY_FIELDS and isinstance(value, str):
            found.append(Row(labels.field(name), party(value)))
        elif isinstance(value, dict):
            inner = rows_of(value, party)
            found.append(Row(labels.field(name), "; ".join(f"{r.label}: {r.text}" for r in inner)))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found.append(Row(labels.field(name), items=[rows_of(v, party) for v in value]))
        else:
            found.append(Row(labels.field(name), text_of(value, name)))
    return found


def why_withheld(type_: str, category: str) -> str:
    """The reason a category did not come, and what would release it, in words."""
    rule = labels.catalog().policy.get(type_, {}).get(category, "")
    name = labels.category(category).lower()
    purpose = gettext("broad intake") if type_ == PROFILE else gettext("progress")
    if rule == "explicit-consent":
        return gettext(
            "no explicit consent for {name} (special category, GDPR art. 9); ask for explicit "
            "consent, with health data named on the form"
        ).format(name=name)
    if rule == "consent":
        return gettext(
            "no consent for {name}; ask for consent naming {name}, for the purpose {purpose}"
        ).format(name=name, purpose=purpose)
    return gettext("{name} does not leave the gateway for a municipality").format(name=name)


def sections(kept: dict[str, Any], party: Callable[[str], str] = str) -> list[Section]:
    type_ = str(kept.get("type"))
    body = kept.get("body", {})
    withheld = set(kept.get("withheld_categories", []))
    withdrawn = {c: w for w in kept.get("withdrawn", []) for c in w["categories"]}
    found = []
    for category in categories.in_order(type_) or list(body):
        title = labels.category(category)
        if category in body:
            found.append(Section(category, title, "shown", rows_of(body[category], party)))
        elif category in withdrawn:
            when = str(withdrawn[category].get("withdrawn_at") or "")
            found.append(
                Section(
                    category,
                    title,
                    "withdrawn",
                    why=gettext(
                        "removed after the consent it rested on was withdrawn ({when}); those who "
                        "received it were told"
                    ).format(when=readable_date(when) if when else "?"),
                )
            )
        elif category in withheld:
            found.append(Section(category, title, "withheld", why=why_withheld(type_, category)))
        else:
            found.append(Section(category, title, "absent"))
    return found


def build(store: Store, v_number: str, party: Callable[[str], str] = str) -> Dossier:
    kept = store.deliveries(v_number)
    profiles = [k for k in kept if k.type == PROFILE]
    reports = [k.document for k in kept if k.type == REPORT]
    newest = profiles[-1].document if profiles else None
    levels: dict[str, list[tuple[str, str]]] = {}
    exams: list[dict[str, Any]] = []
    built = []
    for report in reports:
        body = report.get("body", {})
        for a in body.get("language_levels", {}).get("assessments", []):
            entry = (str(a["date"]), str(a["level"]))
            if entry not in levels.setdefault(str(a["skill"]), []):
                levels[str(a["skill"])].append(entry)
        for result in body.get("exams", {}).get("results", []):
            if result not in exams:
                exams.append(result)
        period = body.get("enrolment", {}).get("period", {})
        attendance = body.get("attendance")
        built.append(
            Report(
                str(report.get("received_at", "")),
                f"{readable_date(period['from'])} \u2013 {readable_date(period['until'])}"
                if period
                else "",
                sections(report, party),
                (float(attendance["hours_attended"]), float(attendance["hours_planned"]))
                if attendance
                else None,
            )
        )
    progress = store.reads_of("progress", v_number)
    consents = store.reads_of("consents", v_number)
    signals = store.reads_of("signals", v_number)
    return Dossier(
        v_number=v_number,
        name=name_of(newest),
        bsn=(newest or {}).get("subject", {}).get("bsn"),
        profile=sections(newest, party) if newest else [],
        profile_received_at=newest.get("received_at") if newest else None,
        reports=built,
        levels={s: sorted(v) for s, v in sorted(levels.items())},
        level_dates=sorted({d for points in levels.values() for d, _ in points}),
        exams=sorted(exams, key=lambda r: str(r.get("date"))),
        notices=[k.document for k in kept if k.type == NOTICE],
        sent=store.actions(v_number),
        progress=progress[1] if progress else None,
        progress_read_at=progress[0] if progress else None,
        consents=consents[1]["consents"] if consents else None,
        signals=signals[1] if signals else {},
        profile_signature=signature_of(newest),
    )


def signature_of(kept: dict[str, Any] | None) -> dict[str, str] | None:
    """The marker ``coasigned`` wrote on a profile it verified against COA's pinned key."""
    found = (kept or {}).get("coa_signature")
    if not isinstance(found, dict):
        return None
    issuer, kid = found.get("issuer"), found.get("kid")
    if isinstance(issuer, str) and isinstance(kid, str):
        return {"issuer": issuer, "kid": kid}
    return None


def level_rank(level: str) -> int:
    return CEFR.index(level) if level in CEFR else 0
