"""The municipality's console as a party: its store, its puller, the directory's providers.

What the pages (``views``, ``actions``) and the app that serves them
(``app``) all need of the console stands here, below all three, so the app
can import its pages and the pages their console without a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from connectors.consoles import i18n
from connectors.consoles.web import Party, party_of
from connectors.municipality.console.pulling import PROGRESS_MAX_AGE, Puller
from connectors.municipality.console.store import Store


@dataclass(kw_only=True)
class Console(Party):
    """The municipality's console: its store and puller, and the directory's providers."""

    store: Store
    puller: Puller
    progress_max_age: timedelta = PROGRESS_MAX_AGE
    """how old a progress read a dossier view may show before it reads anew"""
    nav: tuple[tuple[str, str, str], ...] = (
        ("/today", i18n.N_("Today"), "views.work_list"),
        ("/", i18n.N_("Newcomers"), "views.newcomers"),
        ("/cohort", i18n.N_("Monitoring"), "views.cohort"),
    )
    refresh: tuple[str, str] = ("/pull", i18n.N_("Pull now"))
    staff_name: str = ""
    """who acts at this console (``--staff-name``); empty: the municipality's name"""

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


def console_of() -> Console:
    found: Console = party_of()
    return found


def actor_name() -> str:
    """Who does what this console does, as its pages name them.

    The one place that says it: the console has no user accounts yet, so it is
    the name the console was started for (``--staff-name``), else the
    municipality's; user accounts replace it here. Never sent to the gateway:
    it is kept with this console's own record of what it sent.
    """
    console = console_of()
    return console.staff_name or console.name(console.client.oin)
