"""The auditor console's pages: the log with filters, one newcomer's trail, the anomalies.

Every entry shown carries its own verification mark: proven included in
the newest signed checkpoint, not proven (the proof failed: the entry is
not the one the gateway signed), or not yet covered by a checkpoint. Every
code is shown in words and every time in Dutch time (``sentences``,
``connectors.consoles.words``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request
from werkzeug.wrappers import Response

from connectors.auditor.console import anomalies, grouping, problems, sentences
from connectors.auditor.console.auditlog import AuditStore, Entry, prove_shown, sync
from connectors.consoles import words as said
from connectors.consoles.i18n import N_, gettext
from connectors.consoles.web import Party, party_of
from gateway.client import witness
from gateway.client.log import EVENTS
from gateway.errors import GatewayError

blueprint = Blueprint("audit", __name__)
OUTCOMES = ("ok", "accepted", "refused", "delivered", "withheld")
WORDS = sentences.WORDS
for _name, _function in (
    ("day", said.day),
    ("number", said.number),
    ("outcome_words", said.outcome),
    ("event_words", said.event_name),
    ("activity_words", said.activity),
    ("problem_words", problems.problem),
):
    blueprint.add_app_template_global(_function, _name)


@dataclass(kw_only=True)
class AuditorConsole(Party):
    store: AuditStore
    hours: anomalies.OfficeHours | None = None
    interval: float = 60.0
    """the checkpoint interval the deployment promises"""
    policy: witness.Policy | None = None
    """the witnesses required (``--policy``); None: none"""
    nav: tuple[tuple[str, str, str], ...] = (
        ("/", N_("Log"), "audit.log"),
        ("/anomalies", N_("Anomalies"), "audit.findings"),
    )
    refresh: tuple[str, str] = ("/sync", N_("Verify now"))
    title: str = N_("Auditor console")
    cookie: str = "auditor_console"
    footer: str = N_(
        "This console runs on your own machine; it trusts nothing but the gateway's published "
        "key, and checks every entry it shows."
    )
    parties: list[tuple[str, str]] = field(default_factory=list)


def console() -> AuditorConsole:
    found: AuditorConsole = party_of()
    return found


def words(entry: dict[str, Any]) -> str:
    """One entry in a sentence, in the reader's words."""
    return sentences.entry_words(entry, console().name)


def say(message: str, values: tuple[tuple[str, str], ...]) -> str:
    """A finding's message in the reader's language, its values in words."""
    return sentences.finding_words(message, values)


def local_time(text: str) -> str:
    """A time of the log in Dutch time, as the reader's language writes it."""
    return said.moment(text)


@dataclass
class Filters:
    event: str = ""
    actor: str = ""
    v_number: str = ""
    since: str = ""
    until: str = ""
    outcome: str = ""
    problems: list[str] = field(default_factory=list)

    def sql(self, pseudonym: str | None) -> tuple[str, tuple[Any, ...]]:
        clauses, args = [], []
        for column, value in (
            ("event", self.event),
            ("actor", self.actor),
            ("outcome", self.outcome),
            ("subject", pseudonym),
        ):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.since:
            clauses.append("time >= ?")
            args.append(dutch_midnight(self.since))
        if self.until:
            clauses.append("time < ?")
            args.append(dutch_midnight(self.until, after=1))
        return " AND ".join(clauses), tuple(args)


def dutch_midnight(day: str, *, after: int = 0) -> str:
    """The moment a Dutch day begins, spelt as the log spells its (UTC) times, to compare
    with them: the dates an auditor types are days in Dutch time, as every time shown is,
    and a finding's "and 40 more" opens the log on that same day."""
    first = date.fromisoformat(day) + timedelta(days=after)
    start = datetime.combine(first, time(), anomalies.ZONE)
    return f"{start.astimezone(UTC):%Y-%m-%dT%H:%M:%S}"


def _filters() -> Filters:
    arg = {
        k: request.args.get(k, "").strip()
        for k in ("event", "actor", "v_number", "since", "until", "outcome")
    }
    found = Filters(arg["event"], arg["actor"], arg["v_number"], arg["since"], arg["until"],
                    arg["outcome"])  # fmt: skip
    if found.event and found.event not in EVENTS:
        found.problems.append(gettext("unknown event"))
        found.event = ""
    if found.outcome and found.outcome not in OUTCOMES:
        found.outcome = ""
    if found.v_number and not (found.v_number.isdigit() and len(found.v_number) == 10):
        found.problems.append(gettext("a V-number is 10 digits"))
        found.v_number = ""
    for name, label in (("since", N_("From (date)")), ("until", N_("Until (date)"))):
        try:
            if getattr(found, name):
                date.fromisoformat(getattr(found, name))
        except ValueError:
            found.problems.append(
                gettext("not a date (yyyy-mm-dd): {field}").format(field=gettext(label))
            )
            setattr(found, name, "")
    return found


def _pseudonym(v_number: str) -> str:
    """The newcomer's pseudonym, from the gateway (an audited subject read); never kept."""
    answer = console().client.get_json(f"/v1/audit/subjects/{v_number}")
    return str(answer["subject"])


def _not_looked_up(error: GatewayError) -> str:
    """The gateway's refusal of a V-number lookup in words (its English detail left out)."""
    problem = said.refusal(error.code)
    return gettext(N_("The gateway did not look up this V-number: {problem}")).format(
        problem=problem
    )


def _marked(rows: list[tuple[int, dict[str, Any], str]]) -> list[Entry]:
    try:
        return prove_shown(console().client, console().store, rows)
    except GatewayError:
        return [Entry(i, e, leaf, None) for i, e, leaf in rows]


@blueprint.get("/")
def log() -> str:
    filters = _filters()
    pseudonym = None
    if filters.v_number:
        try:
            pseudonym = _pseudonym(filters.v_number)
        except GatewayError as error:
            filters.problems.append(_not_looked_up(error))
    where, args = filters.sql(pseudonym)
    before = request.args.get("before", type=int)
    rows = console().store.entries(where, args, before=before, limit=50)
    return render_template(
        "audit_log.html",
        entries=_marked(rows),
        filters=filters,
        events=sorted(EVENTS, key=said.event_name),
        outcomes=OUTCOMES,
        parties=_parties(),
        verdict=console().store.verification(),
        older=rows[-1][0] if len(rows) == 50 else None,
    )


def _parties() -> list[tuple[str, str]]:
    party = console()
    if not party.parties:
        try:
            party.parties = sorted(
                ((p["oin"], p["name"]) for p in party.client.directory()), key=lambda p: p[1]
            )
        except GatewayError:
            return []
    return party.parties


@blueprint.get("/trail")
def trail() -> str:
    v_number = request.args.get("v_number", "").strip()
    if not (v_number.isdigit() and len(v_number) == 10):
        abort(404)
    try:
        pseudonym = _pseudonym(v_number)
    except GatewayError as error:
        return render_template("error.html", status=502, what=_not_looked_up(error))
    rows = list(reversed(console().store.entries("subject = ?", (pseudonym,), limit=10_000)))
    return render_template(
        "audit_trail.html",
        entries=_marked(rows),
        v_number=v_number,
        pseudonym=pseudonym,
        verdict=console().store.verification(),
    )


@blueprint.get("/anomalies")
def findings() -> str:
    party = console()
    entries = list(party.store.all_entries())
    found = anomalies.all_findings(
        entries, party.store.checkpoints(), interval=party.interval, hours=party.hours
    )
    return render_template(
        "audit_anomalies.html",
        found={rule: grouping.grouped(findings) for rule, findings in found.items()},
        rules=anomalies.RULES,
        thresholds=anomalies.thresholds(party.interval, party.hours),
        routine=anomalies.routine_left_out(entries, party.hours),
        hours=party.hours,
        interval=party.interval,
        verdict=party.store.verification(),
        size=len(entries),
    )


@blueprint.post("/sync")
def sync_now() -> Response:
    verdict = sync(console().client, console().store, console().policy)
    flash(
        gettext("Verified up to checkpoint {seq}.").format(seq=verdict.seq)
        if verdict.ok
        else gettext("Not verified: {problem}").format(problem=problems.problem(verdict)),
        "receipt" if verdict.ok else "refusal",
    )
    back = request.form.get("back", "/")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/", 303)
