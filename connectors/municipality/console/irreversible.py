"""The actions that cannot be undone: withdraw a consent, send a plan version, end an assignment.

Each has two steps (``confirming``): the form (or the status column's link)
opens a page that says what will happen, to whom and by whom, and sends
nothing; only that page's own button (``confirm=yes``) signs and sends.
A refused plan shows the dossier again with the plan form as the person
filled it in and the refusal in words beside it, with the rule behind it
(``refusals``); nothing is kept then.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, request
from werkzeug.wrappers import Response

from connectors.consoles.i18n import N_, gettext
from connectors.municipality import messages as m
from connectors.municipality.console import dossier as dossiers
from connectors.municipality.console import labels, views
from connectors.municipality.console.actions import done, message_subject, to_dossier
from connectors.municipality.console.confirming import Confirmation, confirmed, form_values, show
from connectors.municipality.console.consentstate import ConsentState, local_date, states
from connectors.municipality.console.party import console_of, staff_to_send
from connectors.municipality.console.planform import FormError, plan_from_form
from connectors.municipality.console.refusals import refusal_words
from gateway.errors import GatewayError

blueprint = Blueprint("irreversible", __name__)

BY = (
    ("data-subject", N_("at the newcomer's request (or their legal representative's)")),
    ("recording-party", N_("revoked by the municipality itself")),
)
"""The contract's ``by`` of a withdrawal (W3C DPV: withdrawn by the data subject, or
revoked by the party that recorded it), as the confirmation page offers it"""


def _active(v_number: str, declaration_id: str) -> ConsentState | None:
    """The declaration as last read, when it is in force (one can withdraw it)."""
    read = console_of().store.reads_of("consents", v_number)
    records = read[1]["consents"] if read else []
    found = states(records, [], console_of().name)
    return next(
        (s for s in found if s.active and s.declaration["declaration_id"] == declaration_id), None
    )


def _withdrawal_page(v_number: str, state: ConsentState) -> str:
    c = state.declaration
    return show(
        v_number,
        Confirmation(
            kind="withdrawal",
            title=gettext("Withdraw this consent?"),
            what=gettext(
                "The consent ends now: nothing more is delivered on it, the parts that came on it "
                "are removed from this console's copies at the next pull, and every organisation "
                "that received data on it is told."
            ),
            after=gettext("A withdrawal is final; renewed consent takes a new declaration."),
            action=f"/newcomers/{v_number}/withdraw",
            button=gettext("Yes, withdraw this consent"),
            back=f"/newcomers/{v_number}#consents",
            rows=[
                (gettext("Categories"), ", ".join(labels.category(x) for x in c["categories"])),
                (gettext("Purposes"), ", ".join(labels.value(x) for x in c["purposes"])),
                (gettext("State"), state.status),
            ],
            hidden=[("declaration_id", str(c["declaration_id"]))],
            choices=[("by", gettext("On whose initiative"), [(v, gettext(w)) for v, w in BY])],
        ),
    )


@blueprint.route("/newcomers/<v_number>/withdraw", methods=["GET", "POST"])
def withdraw(v_number: str) -> Response | str:
    """GET, or a POST without ``confirm=yes``: the confirmation page, nothing sent."""
    v_number = views.v_number_or_404(v_number)
    declaration_id = request.values.get("declaration_id") or request.args.get("declaration", "")
    state = _active(v_number, declaration_id)
    if state is None:
        flash(gettext("This consent is not in force: there is nothing to withdraw."), "refusal")
        return to_dossier(v_number, "consents")
    if request.method == "GET" or not confirmed():
        return _withdrawal_page(v_number, state)
    by = request.form.get("by", "")
    if by not in dict(BY):
        return _withdrawal_page(v_number, state)
    about = message_subject(v_number)
    try:
        submitted = m.withdraw(
            console_of().client, declaration_id, about, by=by, staff=staff_to_send()
        )
    except GatewayError as error:
        flash(refusal_words(error), "refusal")
        return to_dossier(v_number, "consents")
    body = {"declaration_id": declaration_id, "by": by}
    done(
        v_number,
        "withdrawal",
        {"subject": about, "body": body},
        submitted,
        gettext("Consent withdrawn; whoever received data on it is told."),
    )
    return to_dossier(v_number, "consents")


def _current_plan(v_number: str) -> dict[str, Any] | None:
    listed = console_of().store.reads_of("progress", v_number)
    plan: dict[str, Any] | None = (listed[1] if listed else {}).get("plan")
    return plan


def _plan_page(v_number: str, body: dict[str, Any]) -> str:
    version = int(body.get("plan_version", 1))
    rows = [
        (labels.field(k), dossiers.text_of(v, k))
        for k, v in body.items()
        if k not in ("plan_id", "plan_version") and v not in ("", [], None)
    ]
    what = (
        gettext(
            "Version {n} of the plan is signed and sent: it replaces version {previous} from its "
            "date on, and the provider assigned sees its route and level."
        ).format(n=version, previous=version - 1)
        if version > 1
        else gettext(
            "The plan is signed and sent as its first version; the provider assigned sees its "
            "route and level."
        )
    )
    return show(
        v_number,
        Confirmation(
            kind="plan",
            title=gettext("Send version {n} of the plan?").format(n=version),
            what=what,
            after=gettext("A version sent stays in the plan's history; a change takes a new one."),
            action=f"/newcomers/{v_number}/plan#plan-form",
            button=gettext("Yes, sign and send version {n}").format(n=version),
            back=f"/newcomers/{v_number}#plan",
            rows=rows,
            hidden=form_values(),
            change=gettext("Back to the form"),
        ),
    )


@blueprint.post("/newcomers/<v_number>/plan")
def plan(v_number: str) -> Response | str:
    """The plan form: checked, then confirmed, then sent; a refusal keeps the form."""
    v_number = views.v_number_or_404(v_number)
    current = _current_plan(v_number)
    try:
        body = plan_from_form(request.form, current)
    except FormError as error:
        said = gettext("Not sent: {what}.").format(what=error)
        return views.show_dossier(v_number, plan_entered=request.form, plan_refusal=said)
    if request.form.get("confirm") == "change":
        return views.show_dossier(v_number, plan_entered=request.form)
    if not confirmed():
        return _plan_page(v_number, body)
    try:
        plan_id, submitted = m.send_plan(
            console_of().client, body, message_subject(v_number), staff=staff_to_send()
        )
    except GatewayError as error:
        said = refusal_words(error, body, first=current is None)
        return views.show_dossier(v_number, plan_entered=request.form, plan_refusal=said)
    sent = {"plan_id": plan_id, "plan_version": 1, **body}
    done(
        v_number,
        "plan",
        {"subject": message_subject(v_number), "body": sent},
        submitted,
        gettext("Plan version {n} recorded.").format(n=sent["plan_version"]),
    )
    return to_dossier(v_number, "plan")


def _assignment(v_number: str, assignment_id: str) -> dict[str, Any] | None:
    listed = console_of().store.reads_of("progress", v_number)
    found = (listed[1] if listed else {}).get("assignments") or []
    return next((a for a in found if a.get("assignment_id") == assignment_id), None)


def _end_page(v_number: str, assignment: dict[str, Any]) -> str:
    provider = console_of().name(assignment["provider"])
    return show(
        v_number,
        Confirmation(
            kind="assignment",
            title=gettext("End the assignment of {provider}?").format(provider=provider),
            what=gettext(
                "The assignment ends now: {provider} receives nothing more about this newcomer "
                "and can no longer report their progress."
            ).format(provider=provider),
            after=gettext("To assign the provider again takes a new assignment."),
            action=f"/newcomers/{v_number}/assignments/{assignment['assignment_id']}/end",
            button=gettext("Yes, end the assignment"),
            back=f"/newcomers/{v_number}#plan",
            rows=[
                (gettext("Provider"), provider),
                (gettext("Route"), labels.value(assignment["route"])),
                (gettext("From"), local_date(assignment["valid_from"])),
            ],
        ),
    )


def _ended(v_number: str, assignment: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The assignment sent again under its own id with ``status: ended`` (the contract's way
    to end it early; ``messages.assign`` always makes a new one)."""
    client = console_of().client
    body = {
        "assignment_id": assignment["assignment_id"],
        "provider": assignment["provider"],
        "route": assignment["route"],
        "valid_from": assignment["valid_from"],
        **({"valid_until": assignment["valid_until"]} if assignment.get("valid_until") else {}),
        "status": "ended",
    }
    payload = {
        "message_id": str(uuid.uuid4()),
        "type": "provider-assignment",
        "version": 1,
        "sender": client.oin,
        "recipient": client.oin,
        "subject": message_subject(v_number),
        "issued_at": m.utc(datetime.now(UTC)),
        "body": body,
    }
    staff = staff_to_send()
    if staff:
        payload["staff"] = staff
    return body, client.submit(client.sign(payload))


@blueprint.route("/newcomers/<v_number>/assignments/<assignment_id>/end", methods=["GET", "POST"])
def end_assignment(v_number: str, assignment_id: str) -> Response | str:
    """GET, or a POST without ``confirm=yes``: the confirmation page, nothing sent."""
    v_number = views.v_number_or_404(v_number)
    assignment = _assignment(v_number, assignment_id)
    if assignment is None:
        flash(gettext("This assignment is not in force: there is nothing to end."), "refusal")
        return to_dossier(v_number, "plan")
    if request.method == "GET" or not confirmed():
        return _end_page(v_number, assignment)
    try:
        body, submitted = _ended(v_number, assignment)
    except GatewayError as error:
        flash(refusal_words(error), "refusal")
        return to_dossier(v_number, "plan")
    done(
        v_number,
        "assignment",
        {"subject": message_subject(v_number), "body": body},
        submitted,
        gettext("Assignment ended."),
    )
    return to_dossier(v_number, "plan")
