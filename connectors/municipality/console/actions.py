"""The forms that act: consent, withdrawal, assignment, plan; and "pull now".

Each builds one message, signs it with the municipality's key, submits it,
keeps it with the gateway's (verified) receipt in the store, and shows the
receipt. A refusal is shown in words with what to do; nothing is kept then.
The scanned consent form is hashed here and never leaves this machine. The
irreversible ones (withdrawal, plan version, ending an assignment) ask first,
on a page of their own (``irreversible``, ``confirming``).
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, redirect, request
from werkzeug.wrappers import Response

from connectors.common.client import GatewayClient, Submission
from connectors.consoles.i18n import gettext
from connectors.municipality import messages as m
from connectors.municipality.console import categories as offered
from connectors.municipality.console import confirming
from connectors.municipality.console.party import (
    CONSENT_LANGUAGES,
    actor_name,
    console_of,
    signed_in,
    staff_pseudonym,
    staff_to_send,
)
from connectors.municipality.console.planform import FormError
from connectors.municipality.console.refusals import refusal_words
from gateway.errors import GatewayError

blueprint = Blueprint("actions", __name__)


def to_dossier(v_number: str, part: str = "") -> Response:
    return redirect(f"/newcomers/{v_number}" + (f"#{part}" if part else ""), code=303)


def message_subject(v_number: str) -> dict[str, str]:
    """The message's subject: the V-number, with the BSN when the placement gave one."""
    if not (v_number.isdigit() and len(v_number) == 10):
        raise FormError(gettext("a V-number is 10 digits"))
    console = console_of()
    listed = console.store.reads_of("signals", v_number)
    bsn = listed[1].get("bsn") if listed else None
    return m.subject_of(v_number, bsn)


def _day(name: str) -> datetime:
    found = _maybe_day(name)
    if found is None:
        raise FormError(gettext("fill in the date: {field}").format(field=name))
    return found


def _maybe_day(name: str) -> datetime | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text).date()
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2100:  # 9999-12-31 overflowed a sum (a 500)
        raise FormError(gettext("not a date (yyyy-mm-dd): {field}").format(field=name))
    return datetime.combine(day, time(0, 0), UTC)


def _signed_on() -> datetime:
    """The day the consent form was signed: not after today (a day's grace for the zones:
    a form 'signed' in 2099 made a consent in force from then)."""
    signed = _day("signed_on")
    if signed.date() > datetime.now(UTC).date() + timedelta(days=1):
        raise FormError(gettext("a form signed after today: {field}").format(field="signed_on"))
    return signed


def _months() -> int:
    """How long the consent holds, 1 to 60 months (``abc`` was a 500)."""
    given = request.form.get("months", "12").strip() or "12"
    months = int(given) if given.isascii() and given.isdigit() and len(given) < 4 else 0
    if not 1 <= months <= 60:
        raise FormError(gettext("valid for 1 to 60 months"))
    return months


def _chosen(name: str, allowed: tuple[str, ...] | set[str]) -> list[str]:
    picked = request.form.getlist(name)
    if any(p not in allowed for p in picked):
        raise FormError(gettext("an option that is not offered: {field}").format(field=name))
    return picked


def done(
    v_number: str, kind: str, payload: dict[str, Any], submitted: Submission, said: str
) -> None:
    """Kept with the receipt and who did it (``actor``, the name, and the signed-in
    user's id and staff pseudonym: this console's own record; only the pseudonym is
    sent), and the receipt shown."""
    store = console_of().store
    user, staff = signed_in(), staff_pseudonym()
    who = {"actor": actor_name(), **({"actor_id": user.id, "staff": staff} if user else {})}
    store.record_action(v_number, kind, {**payload, **who}, submitted.receipt)
    store.want_read("progress", v_number)  # what it shows has just changed
    flash(confirming.receipt_words(said, submitted.receipt), "receipt")


def _act(v_number: str, part: str, work: Any) -> Response:
    try:
        work(console_of().client)
    except FormError as error:
        flash(gettext("Not sent: {what}.").format(what=error), "refusal")
    except GatewayError as error:
        flash(refusal_words(error), "refusal")
    return to_dossier(v_number, part)


@blueprint.post("/newcomers/<v_number>/consent")
def consent(v_number: str) -> Response:
    def work(client: GatewayClient) -> None:
        subject = message_subject(v_number)
        scan = request.files.get("form")
        data = scan.read() if scan else b""
        if not data:
            raise FormError(gettext("attach the scan of the signed form"))
        categories = _chosen("categories", offered.by_consent())
        purposes = _chosen("purposes", offered.purposes())
        sources = _chosen(
            "sources", {p for p, _ in console_of().providers()} | {console_of().coa()}
        )
        if not (categories and purposes and sources):
            raise FormError(gettext("choose at least one category, source and purpose"))
        signed, months = _signed_on(), _months()
        language = request.form.get("explained_in_language", "")
        if language not in CONSENT_LANGUAGES:
            raise FormError(gettext("choose the language the consent was explained in"))
        start = max(signed, datetime.now(UTC) - timedelta(minutes=1))
        declaration = {
            "sources": sources,
            "categories": categories,
            "purposes": purposes,
            "explicit_health_consent": request.form.get("explicit_health") == "on",
            "valid_from": m.utc(start),
            "valid_until": m.utc(start + timedelta(days=round(months * 30.44))),
            "signed_on": signed.date().isoformat(),
            "explained_in_language": language,
            "interpreter_used": request.form.get("interpreter_used") == "on",
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "form"
            path.write_bytes(data)
            declaration_id, submitted = m.declare(
                client, declaration, subject, path, staff=staff_to_send(),
                declaration_id=m.same_form_id(client.oin, subject, declaration, data),
            )  # fmt: skip
        body = {
            **declaration,
            "declaration_id": declaration_id,
            "evidence_sha256": hashlib.sha256(data).hexdigest(),
        }
        console_of().store.set_state("consent_at", datetime.now(UTC).isoformat())
        done(
            v_number,
            "consent",
            {"subject": subject, "body": body},
            submitted,
            gettext("Consent recorded; what it covers comes with the next pull."),
        )

    return _act(v_number, "consent", work)


@blueprint.post("/newcomers/<v_number>/assign")
def assign(v_number: str) -> Response:
    def work(client: GatewayClient) -> None:
        subject = message_subject(v_number)
        provider = request.form.get("provider", "")
        if provider not in {p for p, _ in console_of().providers()}:
            raise FormError(gettext("choose a provider from the list"))
        route = request.form.get("route", "")
        if route not in ("b1-route", "onderwijsroute", "z-route"):
            raise FormError(gettext("choose a route"))
        start = _day("valid_from")
        until = _maybe_day("valid_until")
        assignment_id, submitted = m.assign(
            client,
            provider,
            subject,
            route=route,
            valid_from=start,
            valid_until=until,
            staff=staff_to_send(),
        )
        body = {
            "assignment_id": assignment_id,
            "provider": provider,
            "route": route,
            "valid_from": m.utc(start),
        }
        done(
            v_number,
            "assignment",
            {"subject": subject, "body": body},
            submitted,
            gettext("Provider assigned."),
        )

    return _act(v_number, "plan", work)


@blueprint.post("/pull")
def pull_now() -> Response:
    done = console_of().puller.now()
    flash(done.words(), "refusal" if done.problems else "receipt")
    back = request.form.get("back", "/")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/", 303)
