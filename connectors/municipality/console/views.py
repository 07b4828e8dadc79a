"""The pages that show: newcomers, one newcomer's dossier, the cohort figures.

Opening a dossier reads the newcomer's consent records from the gateway,
and their progress only when the copy kept is older than the console's
``--progress-max-age`` (a day unless set), when an action here changed it,
or when the client manager presses "read progress now": each progress read
is a ``regie.read``, a line in the newcomer's own access report, so it is
made when it means something, not at every page view. The page says when
the progress was read; when the gateway is away it shows what was read
last.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from connectors.consoles.i18n import current_language, gettext
from connectors.municipality.console import cohort as figures
from connectors.municipality.console import (
    consentstate,
    from_duo,
    labels,
    planform,
    profiles,
    today,
)
from connectors.municipality.console import dossier as dossiers
from connectors.municipality.console.facts import gather
from connectors.municipality.console.party import console_of, signed_in
from connectors.municipality.console.users import CLIENT_MANAGER
from gateway.errors import GatewayError

blueprint = Blueprint("views", __name__)


def v_number_or_404(v_number: str) -> str:
    """A V-number of an address, or 404: ten digits, nothing else."""
    if not (v_number.isdigit() and len(v_number) == 10):
        abort(404)
    return v_number


@blueprint.get("/today")
def work_list() -> str:
    """What needs the client manager, soonest first (``today``): a client manager's own
    caseload first ("Mijn"), everyone's on ``?view=all``."""
    console, user = console_of(), signed_in()
    mine_first = user is not None and user.role == CLIENT_MANAGER
    view = request.args.get("view", "mine" if mine_first else "all")
    view = view if view in ("mine", "all") else "all"
    only: set[str] | None = None
    if console.users is not None and user is not None and view == "mine":
        only = {v for v, held_by in console.users.caseload().items() if held_by == user.id}
    names = {p.v_number: p.name for p in gather(console.store)}
    items = today.work_list(console.store, names, only=only)
    return render_template("today.html", items=items, local_day=_local_day, view=view,
                           accounts=console.signs_in())  # fmt: skip


def _local_day(moment: datetime) -> str:
    return consentstate.local_date(moment.astimezone(UTC).isoformat())


def _unavailable(what: str, error: GatewayError) -> str:
    return gettext(
        "{what} could not be read now ({code}: {detail}); shown as read before, if ever"
    ).format(what=what, code=error.code, detail=error.detail)


def read_profile(v_number: str) -> list[str]:
    """The newcomer's profile read from the gateway when none is kept (another consumer of
    the inbox took it); what could not be read, said."""
    console = console_of()
    if not profiles.missing(console.store, [v_number]):
        return []
    try:
        profiles.read_profile(console.client, console.store, v_number)
    except GatewayError as error:
        return [_unavailable(gettext("Blue folder"), error)]
    return []


def refresh(v_number: str, *, progress: bool = True, consents: bool = True) -> list[str]:
    """The newcomer's progress and consent records (those asked for) read now; what could not
    be read, said."""
    console = console_of()
    problems = []
    reads: list[tuple[str, str, dict[str, str]]] = []
    if progress:
        reads.append(("progress", f"/v1/newcomers/{v_number}/progress", {}))
    if consents:
        reads.append(("consents", "/v1/consents", {"v_number": v_number}))
    for kind, path, params in reads:
        try:
            console.store.keep_read(kind, v_number, console.client.get_json(path, **params))
        except GatewayError as error:
            what = gettext("Progress") if kind == "progress" else gettext("Consent records")
            problems.append(_unavailable(what, error))
    return problems


@blueprint.get("/newcomers/<v_number>")
def dossier(v_number: str) -> str:
    return show_dossier(v_number_or_404(v_number))


def show_dossier(
    v_number: str, *, plan_entered: MultiDict[str, str] | None = None, plan_refusal: str = ""
) -> str:
    """The dossier page; after a refused or reconsidered plan, the plan form with the values
    the person entered (``plan_entered``) and the refusal in words beside it."""
    console = console_of()
    stale = console.store.read_due("progress", v_number, console.progress_max_age)
    problems = read_profile(v_number) + refresh(v_number, progress=stale)
    found = dossiers.build(console.store, v_number, console.name)
    if not found.profile and not found.reports and found.progress is None:
        abort(404)
    today = datetime.now(UTC).date().isoformat()
    return render_template(
        "dossier.html",
        d=found,
        told=from_duo.told(found.progress),
        problems=problems,
        providers=console.providers(),
        today=today,
        consent_states=consentstate.states(found.consents or [], found.sent, console.name),
        pf=planform.shown((found.progress or {}).get("plan"), plan_entered, today),
        plan_entered=plan_entered is not None,
        plan_refusal=plan_refusal,
    )


@blueprint.post("/newcomers/<v_number>/progress")
def read_progress(v_number: str) -> WerkzeugResponse:
    """The client manager's "read progress now": one read, whatever the copy's age."""
    v_number = v_number_or_404(v_number)
    for problem in refresh(v_number, consents=False):
        flash(problem, "refusal")
    return redirect(f"/newcomers/{v_number}#progress-read", code=303)


REPORT_LANGUAGES = ("nl", "en", "ar", "tr")


def report_language(v_number: str) -> str:
    """The language the newest consent was explained in, when the report has it; else the
    reader's."""
    read = console_of().store.reads_of("consents", v_number)
    for record in read[1]["consents"] if read else []:
        if record.get("kind") == "declaration":
            if record.get("explained_in_language") in REPORT_LANGUAGES:
                return str(record["explained_in_language"])
            break
    return current_language()


@blueprint.get("/newcomers/<v_number>/access-report")
def access_report(v_number: str) -> Response:
    """The newcomer's own copy, as the gateway wrote it, to print or hand over."""
    v_number = v_number_or_404(v_number)
    language = request.args.get("report", "") or report_language(v_number)
    if language not in REPORT_LANGUAGES:
        abort(404)
    try:
        answer = console_of().client.get_json(
            f"/v1/newcomers/{v_number}/access-report", lang=language
        )
    except GatewayError as error:
        return Response(
            render_template(
                "error.html",
                status=502,
                what=gettext("The gateway did not give the report ({code}: {detail}).").format(
                    code=error.code, detail=error.detail
                ),
            ),
            status=502,
        )
    page = Response(str(answer["report"]), mimetype="text/html")
    page.headers["X-Console-Style"] = "inline"  # its own inline style; still no script
    return page


def _cohort() -> figures.Cohort:
    return figures.cohort(gather(console_of().store), datetime.now(UTC))


def _column(table: str, key: str) -> str:
    """A column's or row's words (a provider by name)."""
    console = console_of()
    if table in ("provider", "signals") and key.isdigit():
        return console.name(key)
    words: dict[str, str] = {**dict(figures.WEEKS), **dict(figures.ATTENDANCE)}
    if key in words:
        return gettext(words[key])
    if key in figures.SIGNALS:
        return labels.signal(key)
    if key == "none":
        return gettext("none yet")
    if key == "not-assessed":
        return gettext("not assessed")
    return labels.value(key)


@blueprint.get("/cohort")
def cohort() -> str:
    return render_template("cohort.html", cohort=_cohort(), column=_column)


@blueprint.get("/cohort.csv")
def cohort_csv() -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    rows: list[list[Any]] = figures.csv_rows(_cohort())
    writer.writerow(rows[0])
    for table, row, column, cell in rows[1:]:
        writer.writerow(
            [
                table,
                _column(table, row) if row else "",
                _column(table, column) if column not in ("", "total") else column,
                cell,
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=cohort.csv"},
    )
