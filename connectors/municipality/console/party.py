"""The municipality's console as a party: its store, its puller, the directory's providers.

What the pages (``views``, ``actions``) and the app that serves them
(``app``) all need of the console stands here, below all three, so the app
can import its pages and the pages their console without a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import g

from connectors.consoles import i18n
from connectors.consoles.web import Party, party_of
from connectors.municipality.console.pulling import PROGRESS_MAX_AGE, Puller
from connectors.municipality.console.store import Store
from connectors.municipality.console.users import User, Users, staff_secret
from gateway.client import wire

SEND_STAFF = True
"""Whether messages carry the ``staff`` envelope member (the gateway's envelope has it from
profile v1.2); off, the pseudonym is still kept here with what was sent"""


@dataclass(kw_only=True)
class Console(Party):
    """The municipality's console: its store and puller, and the directory's providers."""

    store: Store
    puller: Puller
    progress_max_age: timedelta = PROGRESS_MAX_AGE
    """how old a progress read a dossier view may show before it reads anew"""
    nav: tuple[tuple[str, str, str], ...] = (
        ("/today", i18n.N_("Today"), "views.work_list"),
        ("/", i18n.N_("Newcomers"), "listing.newcomers"),
        ("/cohort", i18n.N_("Monitoring"), "views.cohort"),
    )
    refresh: tuple[str, str] = ("/pull", i18n.N_("Pull now"))
    staff_name: str = ""
    """who acts at this console (``--staff-name``); empty: the municipality's name"""
    users: Users | None = None
    """the accounts (``users``); none made yet: one person's console, as before"""
    monitoring: tuple[str, ...] = ("views.cohort", "views.cohort_csv")
    """the endpoints a policy officer reads"""

    provider_signin: bool = False
    """whether the municipality's OpenID Connect provider signs people in (``provider``)"""

    def signs_in(self) -> bool:
        return self.users is not None and (self.provider_signin or self.users.any())

    def links(self) -> tuple[tuple[str, str, str], ...]:
        """A policy officer's header has the monitoring only; an administrator's the users;
        someone not signed in yet none (each would lead back to the sign-in page)."""
        user = signed_in()
        if user is None:
            return () if self.signs_in() else self.nav
        if not user.acts:
            return tuple(link for link in self.nav if link[2] in self.monitoring)
        if user.administers:
            return (*self.nav, ("/users", i18n.N_("Users"), "signin.users_page"))
        return self.nav

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


def signed_in() -> User | None:
    """The person signed in to this request (None on a console without accounts)."""
    user: User | None = g.get("user")
    return user


def actor_name() -> str:
    """Who does what this console does, as its pages name them.

    The one place that says it: the person signed in; on a console without
    accounts the name it was started for (``--staff-name``), else the
    municipality's. Never sent to the gateway: it is kept with this
    console's own record of what it sent (the gateway gets ``staff_pseudonym``).
    """
    user = signed_in()
    if user is not None:
        return user.name
    console = console_of()
    return console.staff_name or console.name(console.client.oin)


def staff_pseudonym() -> str | None:
    """The signed-in person's staff pseudonym for what they send (None without accounts):
    only this console can say whom it names (``Users.who``)."""
    user, console = signed_in(), console_of()
    if user is None or console.users is None:
        return None
    return console.users.staff(staff_secret(wire.private_jwk(console.client.key)), user)


def staff_to_send() -> str | None:
    """The envelope member ``staff`` of a message, when it is sent (``SEND_STAFF``)."""
    return staff_pseudonym() if SEND_STAFF else None
