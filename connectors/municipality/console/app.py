"""The municipality's console app: its party, its pages, its forms (see ``web``)."""

from __future__ import annotations

from flask import Flask

from connectors.consoles import i18n
from connectors.consoles.web import console_app
from connectors.municipality.console import (
    actions,
    consentstate,
    dossier,
    irreversible,
    labels,
    listing,
    signin,
    today,
    views,
)
from connectors.municipality.console.party import CONSENT_LANGUAGES, Console
from connectors.municipality.console.provider import ProviderSettings, install
from connectors.municipality.console.pulling import Round


def action_label(kind: str) -> str:
    return {
        "consent": i18n.gettext("consent declaration"),
        "withdrawal": i18n.gettext("withdrawal of consent"),
        "assignment": i18n.gettext("provider assignment"),
        "plan": i18n.gettext("plan version"),
    }.get(kind, kind)


def create_app(
    console: Console, port: int = 0, provider: ProviderSettings | None = None
) -> Flask:
    """The municipality console's app (see ``web.console_app``), signing in through the
    municipality's ``provider`` where one is configured."""
    app = console_app(
        console,
        [
            signin.blueprint,
            listing.blueprint,
            views.blueprint,
            actions.blueprint,
            irreversible.blueprint,
        ],
        port,
        readable_date=dossier.readable_date,
        local_time=consentstate.local_time,
        labels_rank=dossier.level_rank,
        action_label=action_label,
        round_words=lambda text: Round.from_record(text).words(),
        coa_oin=console.coa,
        consent_languages=CONSENT_LANGUAGES,
        report_language=views.report_language,
        labels=labels,
        signal_words=today.signal_words,
        role_words=signin.role_words,
        caseload_of=listing.caseload_of,
    )
    app.jinja_env.filters["category_label"] = labels.category
    if provider is not None:
        install(app, provider)
    return app
