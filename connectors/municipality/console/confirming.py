"""The page between a form and an irreversible message: what will happen, to whom, by whom.

A withdrawal, a plan version or the end of an assignment is signed and
kept at the gateway for good. So the form does not send it: it opens this
page, which says what will happen, names the newcomer as the dossier shows
them and the person acting (``party.actor_name``), and carries the form's
values on. Only its own submit button, with ``confirm=yes`` and the
console's CSRF token, sends; anything else (going back, a POST without
the field) changes nothing. After sending, the dossier shows the gateway's
receipt: message id, time and audit index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template, request

from connectors.consoles.i18n import gettext
from connectors.municipality.console import dossier as dossiers
from connectors.municipality.console.consentstate import local_time
from connectors.municipality.console.party import actor_name, console_of


@dataclass
class Confirmation:
    """What the confirmation page says and what its form sends on."""

    kind: str
    title: str
    what: str
    after: str
    action: str
    button: str
    back: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    choices: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    """(name, label, [(value, words)]) the person chooses on the page itself"""
    change: str = ""
    """the words of a button back to the form with its values kept, if any"""


def confirmed() -> bool:
    """True only for the confirmation page's own button."""
    return request.form.get("confirm") == "yes"


def form_values(*skip: str) -> list[tuple[str, str]]:
    """The posted form's values (every value of a repeated one), to carry on hidden."""
    left_out = {"csrf_token", "confirm", *skip}
    return [(k, v) for k, v in request.form.items(multi=True) if k not in left_out]


def show(v_number: str, confirmation: Confirmation) -> str:
    """The confirmation page; nothing is sent by showing it."""
    console = console_of()
    name = dossiers.build(console.store, v_number, console.name).name
    return render_template(
        "confirm.html",
        c=confirmation,
        name=name,
        v_number=v_number,
        actor=actor_name(),
    )


def receipt_words(said: str, receipt: dict[str, object]) -> str:
    """The notice after sending: what was done, and the gateway's receipt in full words."""
    audit = receipt.get("audit")
    index = audit.get("index", "?") if isinstance(audit, dict) else "?"
    at = str(receipt.get("received_at") or "")
    return gettext(
        "{said} The gateway's receipt: message {message}, received {at}, audit entry {index}."
    ).format(
        said=said,
        message=receipt.get("message_id", "?"),
        at=local_time(at) if at else "?",
        index=index,
    )
