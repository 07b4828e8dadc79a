"""The municipality's console app: its party, its pages, its forms (see ``web``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from connectors.console import i18n, labels
from connectors.console.pulling import PROGRESS_MAX_AGE, Puller, Round
from connectors.console.store import Store
from connectors.console.web import Party, console_app, party_of


@dataclass(kw_only=True)
class Console(Party):
    """The municipality's console: its store and puller, and the directory's providers."""

    store: Store
    puller: Puller
    progress_max_age: timedelta = PROGRESS_MAX_AGE
    """how old a progress read a dossier view may show before it reads anew"""
    nav: tuple[tuple[str, str, str], ...] = (
        ("/", i18n.N_("Newcomers"), "views.newcomers"),
        ("/cohort", i18n.N_("Monitoring"), "views.cohort"),
    )
    refresh: tuple[str, str] = ("/pull", i18n.N_("Pull now"))

    def coa(self) -> str:
        """COA's OIN, from the directory (the source of every profile)."""
        if "coa" not in self.names:
            try:
                self.names["coa"] = next(p["oin"] for p in self.client.directory("coa"))
            except Exception:
                return ""
        return self.names["coa"]

    def providers(self) -> list[tuple[str, str]]:
        self.name(self.client.oin)
        try:
            listed = self.client.directory("provider")
        except Exception:
            listed = []
        self.names.update({p["oin"]: p["name"] for p in listed})
        return sorted(((p["oin"], p["name"]) for p in listed), key=lambda p: p[1])


CONSENT_LANGUAGES = ("ar", "ti", "fa", "prs", "tr", "uk", "ru", "so", "ku", "en", "fr", "nl")
"""Languages a consent is commonly explained in (ISO 639), offered by the form"""


def action_label(kind: str) -> str:
    return {
        "consent": i18n.gettext("consent declaration"),
        "withdrawal": i18n.gettext("withdrawal of consent"),
        "assignment": i18n.gettext("provider assignment"),
        "plan": i18n.gettext("plan version"),
    }.get(kind, kind)


def create_app(console: Console, port: int = 0) -> Flask:
    """The municipality console's app (see ``web.console_app``)."""
    from connectors.console import actions, dossier, views

    app = console_app(
        console,
        [views.blueprint, actions.blueprint],
        port,
        readable_date=dossier.readable_date,
        labels_rank=dossier.level_rank,
        action_label=action_label,
        round_words=lambda text: Round.from_record(text).words(),
        coa_oin=console.coa,
        consent_languages=CONSENT_LANGUAGES,
        report_language=views.report_language,
    )
    app.jinja_env.filters["category_label"] = labels.category
    return app


def console_of() -> Console:
    found: Console = party_of()
    return found
