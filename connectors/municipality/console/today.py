"""The client manager's work list ("Vandaag"): what needs action, soonest first.

Built from what the console keeps, never computed twice: the gateway's due
dates (``due_dates`` of the signals walk: when no plan, no report or the
term's end runs out; a past one is its signal's ``since``), the signals that
hold with no clock of their own (attendance, behind the plan, dropout risk,
dated as the gateway dates them), DUO's results that arrived (a learnability
test, an exam: DUO's events in the progress read), and consents that run out
(the gateway's ``consent-ends`` due dates: every consent in force that no
renewal carries on, for every newcomer on the list). Each item names the
newcomer, when, what and why in the reader's words, and links to the place
it is acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.consoles.i18n import N_, gettext
from connectors.municipality.console import labels
from connectors.municipality.console.consentstate import moment
from connectors.municipality.console.store import Store

HORIZON = timedelta(days=28)
"""how far ahead the list looks: what falls due within four weeks"""
RESULTS_SHOWN = timedelta(days=14)
"""how long a result DUO registered stays on the list"""

WHAT = {
    "no-plan": N_("Make the plan (PIP)"),
    "no-progress": N_("Ask the provider for a progress report"),
    "term-ending": N_("The term is ending: check the route and the results"),
    "low-attendance": N_("Talk about attendance"),
    "behind-plan": N_("Behind the plan: look at the hours"),
    "dropout-risk": N_("The provider sees a risk of dropping out"),
    "lbt-result": N_("A learnability test result arrived"),
    "exam-result": N_("An exam result arrived"),
    "consent-ends": N_("A consent runs out"),
}
"""item kind → what to do, in words"""

WHERE = {
    "no-plan": "plan",
    "no-progress": "progress",
    "term-ending": "duo",
    "low-attendance": "progress",
    "behind-plan": "progress",
    "dropout-risk": "progress",
    "lbt-result": "duo",
    "exam-result": "duo",
    "consent-ends": "consents",
}
"""item kind → the dossier's part where it is acted on"""

_RESULTS = {"SS131": "lbt-result", "SS199": "exam-result"}
_UNDATED = ("low-attendance", "behind-plan", "dropout-risk")


@dataclass(frozen=True)
class Item:
    due: datetime
    kind: str
    v_number: str
    name: str
    why: str

    @property
    def overdue(self) -> bool:
        return self.due <= datetime.now(UTC)

    @property
    def link(self) -> str:
        return f"/newcomers/{self.v_number}#{WHERE[self.kind]}"

    @property
    def what(self) -> str:
        return gettext(WHAT[self.kind])


def work_list(
    store: Store,
    names: dict[str, str],
    now: datetime | None = None,
    only: set[str] | None = None,
) -> list[Item]:
    """Every item due by ``now`` plus the horizon, soonest (most overdue) first; of the
    newcomers ``only`` names (a caseload) where given."""
    now = now or datetime.now(UTC)
    until = now + HORIZON
    items: list[Item] = []
    progress = store.reads("progress")
    for v_number, (_, row) in store.reads("signals").items():
        if only is not None and v_number not in only:
            continue
        name = names.get(v_number, "")
        items += _from_signals(v_number, name, row)
        items += _from_duo(v_number, name, progress.get(v_number, ("", {}))[1], now)
    return sorted((i for i in items if i.due <= until), key=lambda i: (i.due, i.v_number))


def _from_signals(v_number: str, name: str, row: dict[str, Any]) -> list[Item]:
    """The gateway's due dates, and the signals that hold without a clock of their own."""
    found = [
        Item(moment(d["due"]), d["code"], v_number, name, _why(d["code"], row, d))
        for d in row.get("due_dates", [])
        if d.get("code") in WHAT
    ]
    found += [
        Item(moment(s["since"]), s["code"], v_number, name, _why(s["code"], row))
        for s in row.get("signals", [])
        if s.get("code") in _UNDATED
    ]
    return found


def _why(code: str, row: dict[str, Any], due: dict[str, Any] | None = None) -> str:
    """The words of the signal ``code`` where it holds in ``row``, else of its coming; a
    consent's by its categories."""
    if code == "consent-ends" and due is not None:
        return gettext("the consent for %(what)s ends") % {
            "what": ", ".join(labels.category(c) for c in due.get("categories", []))}  # fmt: skip
    held = next((s for s in row.get("signals", []) if s.get("code") == code), None)
    return signal_words(held) if held else gettext("due then, if nothing changes before")


def signal_words(signal: dict[str, Any]) -> str:
    """A signal's numbers (the gateway's ``values``) in the reader's words; never the
    gateway's English ``detail``."""
    code, values = signal.get("code"), signal.get("values") or {}
    if code in ("no-plan", "no-progress") and "days" in values:
        said = {"no-plan": gettext("placed %(days)d days ago, no plan yet"),
                "no-progress": gettext("no progress report for %(days)d days")}[code]  # fmt: skip
        return said % {"days": values["days"]}
    if code == "low-attendance" and "ratio" in values:
        return gettext("attendance %(pct)d%%") % {"pct": round(100 * float(values["ratio"]))}
    if code == "behind-plan" and "followed" in values:
        return gettext("%(followed)d of about %(expected)d hours so far") % {
            "followed": values["followed"], "expected": values["expected"]}  # fmt: skip
    if code == "term-ending" and "days_left" in values:
        return gettext("%(days)d days left of the term") % {"days": values["days_left"]}
    if code == "dropout-risk" and "level" in values:
        return gettext("the provider reports a %(level)s risk") % {
            "level": labels.value(str(values["level"]))}  # fmt: skip
    return labels.signal(str(code))


def _from_duo(v_number: str, name: str, progress: dict[str, Any], now: datetime) -> list[Item]:
    """Results DUO registered in the last two weeks (its events in the progress read)."""
    events = (progress.get("duo") or {}).get("events", [])
    said = gettext("registered by DUO (%(code)s)")
    return [
        Item(moment(e["registratieDatumTijd"]), _RESULTS[e["gebeurtenisId"]], v_number, name,
             said % {"code": e["gebeurtenisId"]})
        for e in events
        if e.get("gebeurtenisId") in _RESULTS
        and moment(e["registratieDatumTijd"]) >= now - RESULTS_SHOWN
    ]  # fmt: skip
