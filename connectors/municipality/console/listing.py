"""The newcomers list ("Mijn nieuwkomers", "Alle nieuwkomers"), its CSV, and whose newcomer.

The list reads the request into ``caseload.Filters`` and shows what
``caseload.select`` keeps; the CSV export is the same selection, headed in
the reader's language, with a BOM so that Excel reads it as UTF-8. A
client manager's export is their own caseload whatever the address asks
(the list of everyone is for reading here, not for carrying away); the
list shows no BSN, so neither does the export.

Who has a newcomer is said on the dossier: an administrator gives the
newcomer to a client manager (or to nobody), a client manager may take one
that nobody has.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from connectors.consoles.i18n import gettext
from connectors.municipality.console import caseload, labels
from connectors.municipality.console.actions import to_dossier
from connectors.municipality.console.consentstate import local_date
from connectors.municipality.console.facts import gather
from connectors.municipality.console.party import console_of, signed_in
from connectors.municipality.console.users import CASEWORKERS, CLIENT_MANAGER, User

blueprint = Blueprint("listing", __name__)


def _caseworkers() -> list[User]:
    users = console_of().users
    return [u for u in users.all() if u.active and u.role in CASEWORKERS] if users else []


def _selected(filters: caseload.Filters) -> list[caseload.Entry]:
    console, user = console_of(), signed_in()
    held = console.users.caseload() if console.users else {}
    names = {u.id: u.name for u in console.users.all()} if console.users else {}
    found = caseload.entries(gather(console.store), console.store.reads("signals"), held, names)
    return caseload.select(found, filters, user.id if user else None)


def _filters(*, export: bool = False) -> caseload.Filters:
    user = signed_in()
    mine = user is not None and user.role == CLIENT_MANAGER
    filters = caseload.Filters.read(request.args, "mine" if mine else "all")
    return caseload.Filters(**{**filters.__dict__, "view": "mine"}) if export and mine else filters


def _options(found: list[caseload.Entry]) -> dict[str, list[tuple[str, str]]]:
    """The selects' options: what occurs in the list (signals, providers), the routes, the
    client managers."""
    console = console_of()
    signals = sorted({s for e in found for s in e.person.signals})
    providers = sorted({e.person.provider for e in found if e.person.provider})
    return {
        "signal": [(s, labels.signal(s)) for s in signals],
        "route": [(r, labels.value(r)) for r in caseload.ROUTES]
        + [(caseload.NOBODY, gettext("no plan yet"))],
        "provider": sorted(((p, console.name(p)) for p in providers), key=lambda o: o[1]),
        "manager": [(u.id, u.name) for u in _caseworkers()]
        + [(caseload.NOBODY, gettext("nobody yet"))],
    }


@blueprint.get("/")
def newcomers() -> str:
    console = console_of()
    filters = _filters()
    everyone = _selected(caseload.Filters(view="all"))
    return render_template(
        "newcomers.html",
        people=_selected(filters),
        f=filters,
        options=_options(everyone),
        accounts=console.signs_in(),
        query=filters.q,
        last_round=console.store.last_round(),
        local_date=lambda moment: local_date(moment.isoformat()),
    )


def _csv_rows(found: list[caseload.Entry]) -> list[list[str]]:
    console = console_of()
    head = [gettext("Name"), gettext("V-number"), gettext("Placed"), gettext("Route"),
            gettext("Provider"), gettext("Signals"), gettext("Next due"),
            gettext("Client manager")]  # fmt: skip
    rows = [head]
    for e in found:
        p = e.person
        rows.append([
            p.name, p.v_number, local_date(p.placed_at.isoformat()),
            labels.value(p.route) if p.route else "", console.name(p.provider),
            "; ".join(labels.signal(s) for s in p.signals),
            local_date(e.next_due.isoformat()) if e.next_due else "", e.manager,
        ])  # fmt: skip
    return rows


@blueprint.get("/newcomers.csv")
def newcomers_csv() -> Response:
    """The list as filtered, for a spreadsheet (a client manager's: their own caseload)."""
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only after a BOM
    csv.writer(out).writerows(_csv_rows(_selected(_filters(export=True))))
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=nieuwkomers.csv"},
    )


def caseload_of(v_number: str) -> dict[str, Any] | None:
    """Who has the newcomer, and what the person signed in may do about it (None on a
    console without accounts)."""
    console, user = console_of(), signed_in()
    if console.users is None or user is None:
        return None
    holder = console.users.caseload().get(v_number)
    names = {u.id: u.name for u in console.users.all()}
    return {
        "holder": holder,
        "name": names.get(holder or "", ""),
        "give": user.administers,
        "take": user.acts and holder is None,
        "caseworkers": [(u.id, u.name) for u in _caseworkers()],
    }


@blueprint.post("/newcomers/<v_number>/caseload")
def give(v_number: str) -> WerkzeugResponse:
    """An administrator gives the newcomer to a client manager (or nobody); a client manager
    takes one nobody has."""
    if not (v_number.isdigit() and len(v_number) == 10):
        abort(404)
    console, user = console_of(), signed_in()
    if console.users is None or user is None:
        abort(404)
    holder = console.users.caseload().get(v_number)
    if request.form.get("take") and holder is None:
        console.users.give(v_number, user.id, user)
        flash(gettext("The newcomer is in your caseload now."), "receipt")
    elif user.administers:
        chosen = request.form.get("user", "")
        to = next((u for u in _caseworkers() if u.id == chosen), None)
        console.users.give(v_number, to.id if to else None, user)
        said = (
            gettext("Given to {name}.").format(name=to.name)
            if to
            else gettext("The newcomer is in nobody's caseload now.")
        )
        flash(said, "receipt")
    else:
        flash(gettext("Only an administrator gives a newcomer to a client manager."), "refusal")
    return to_dossier(v_number, "caseload")
