"""The newcomers list as a work list: whose newcomer, what is next due, filtered and sorted.

A newcomer can be given to a client manager (``Users.give``); "my
newcomers" are those given to me. Each line of the list carries what a
client manager sorts and filters by: the signals (the gateway's, as the
newest walk said them), the route and the provider (as ``facts`` gathers
them), the client manager, and the next due date: the earliest of the
gateway's own ``due_dates`` in the kept signals walk, so that the list,
"Vandaag" and the signals never disagree. No Flask here: the pages
(``listing``) read the request into ``Filters`` and show what ``select``
returns; the CSV export is the same selection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from connectors.municipality.console.consentstate import moment
from connectors.municipality.console.facts import Newcomer

SORTS = ("placed", "due", "name")
VIEWS = ("mine", "all")
ROUTES = ("b1-route", "onderwijsroute", "z-route")
NOBODY = "none"
"""the filter value for "no client manager" and "no route yet\""""


@dataclass(frozen=True)
class Entry:
    """One line of the list."""

    person: Newcomer
    next_due: datetime | None
    manager_id: str | None
    manager: str
    """the client manager's name, or empty"""


@dataclass(frozen=True)
class Filters:
    """What the list shows, as the address says it (``?view=…&signal=…&sort=…``)."""

    view: str = "all"
    q: str = ""
    signal: str = ""
    route: str = ""
    provider: str = ""
    manager: str = ""
    sort: str = "placed"

    @classmethod
    def read(cls, args: Mapping[str, str], default_view: str = "all") -> Filters:
        """The filters of a query string; what is not one of the offered values is left out."""
        view = args.get("view", default_view)
        sort = args.get("sort", "placed")
        route = args.get("route", "")
        return cls(
            view=view if view in VIEWS else default_view,
            q=args.get("q", "").strip(),
            signal=args.get("signal", "").strip()[:40],
            route=route if route in (*ROUTES, NOBODY) else "",
            provider=args.get("provider", "").strip()[:40],
            manager=args.get("manager", "").strip()[:40],
            sort=sort if sort in SORTS else "placed",
        )

    def query(self, **changed: str) -> str:
        """The query string of these filters with ``changed`` (for a link)."""
        values = replace(self, **changed).__dict__
        return urlencode({k: v for k, v in values.items() if v})


def next_due(signals: dict[str, Any]) -> datetime | None:
    """The earliest of the gateway's due dates for one newcomer (its signals walk row)."""
    dues = [moment(str(d["due"])) for d in signals.get("due_dates", []) if d.get("due")]
    return min(dues) if dues else None


def entries(
    people: list[Newcomer],
    walk: Mapping[str, tuple[str, dict[str, Any]]],
    caseload: Mapping[str, str],
    names: Mapping[str, str],
) -> list[Entry]:
    """Each newcomer with their next due date (from the walk ``walk``), their client
    manager's id (``caseload``) and name (``names``: user id → name)."""
    found = []
    for person in people:
        holder = caseload.get(person.v_number)
        due = next_due(walk.get(person.v_number, ("", {}))[1])
        found.append(Entry(person, due, holder, names.get(holder or "", "")))
    return found


def _search(entry: Entry, words: list[str]) -> bool:
    p = entry.person
    return all(w in f"{p.name} {p.v_number} {p.bsn or ''}".lower() for w in words)


def _kept(entry: Entry, f: Filters, me: str | None) -> bool:
    p = entry.person
    route = p.route or NOBODY
    manager = entry.manager_id or NOBODY
    return (
        (f.view != "mine" or me is None or entry.manager_id == me)
        and (not f.signal or f.signal in p.signals)
        and (not f.route or f.route == route)
        and (not f.provider or f.provider == p.provider)
        and (not f.manager or f.manager == manager)
    )


def select(found: list[Entry], f: Filters, me: str | None) -> list[Entry]:
    """The entries ``f`` lets through, in its order; ``me``: the signed-in user's id (None
    on a console without accounts: "mine" is everyone)."""
    words = f.q.lower().split()
    kept = [e for e in found if _kept(e, f, me) and _search(e, words)]
    if f.sort == "due":
        # soonest first, the overdue ones at the top; those with nothing due last
        return sorted(kept, key=lambda e: (e.next_due is None, e.next_due or e.person.placed_at))
    if f.sort == "name":
        return sorted(kept, key=lambda e: (not e.person.name, e.person.name.casefold()))
    return sorted(kept, key=lambda e: (e.person.placed_at, e.person.v_number))
