"""A newcomer's own copy of the log about them (GDPR art. 15), in their language.

Built from the audit entries about one newcomer (by pseudonym) and the party
register, as one self-contained, printable HTML page: who received what and
when (in Dutch time), on which legal basis or on which consent, what was
withheld, who was told of a withdrawal; then what a withdrawal means, the
newcomer's rights and whom to ask. Acknowledgements are left out (they are
the recipient confirming a delivery the page already lists), and so is the
administration of parties and keys.

The words come from gettext catalogues (``translations/<lang>``): Dutch,
English, Arabic (right to left) and Turkish; a catalogue marked as needing a
native speaker's review says so on the page. The entries hold no personal
data; the page shows the V-nummer because it is the newcomer's own copy.
Jinja2 renders it with autoescaping on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.lists import format_list
from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.domain import catalogues
from gateway.domain.report import words as w
from gateway.domain.vocabulary import CONSENT_WITHDRAWN as NOTICE
from gateway.domain.vocabulary import INTEGRATION_PLAN
from gateway.domain.vocabulary import PROVIDER_BRIEF as BRIEF

HERE = Path(__file__).parent
LANGUAGES = ("nl", "en", "ar", "tr")
RIGHT_TO_LEFT = frozenset({"ar"})
ZONE = ZoneInfo("Europe/Amsterdam")
_LAW = re.compile(r"^(?P<law>[A-Za-z]+\d*)-art(?P<article>[0-9][0-9.]*)$")


@functools.cache
def _catalogue(language: str) -> tuple[NullTranslations, bool]:
    if language == "en":
        return NullTranslations(), False
    found = catalogues.read(HERE / "translations" / language / "LC_MESSAGES" / "report.po",
                            language)  # fmt: skip
    return catalogues.compiled(found), catalogues.needs_review(found)


@dataclass(frozen=True)
class Row:
    when: str
    text: str
    parts: tuple[str, ...] = ()
    """sentences below the main one: by law, with consent, not given"""


class _Words:
    """One language's words for one report."""

    def __init__(self, language: str, parties: Mapping[str, str]) -> None:
        self.language = language
        self.translations, self.needs_review = _catalogue(language)
        self.parties = parties

    def __call__(self, message: str, **values: str) -> str:
        return str(self.translations.ugettext(message)).format(**values)

    def who(self, entry: Mapping[str, Any]) -> str:
        return self.parties.get(entry.get("actor") or "") or self(w.UNKNOWN)

    def what(self, type_: object) -> str:
        return self(w.TYPES[str(type_)]) if type_ in w.TYPES else self(w.MESSAGE)

    def parts(self, names: Sequence[str]) -> str:
        """The categories named, as the language lists them (CLDR: "a, b en c")."""
        named = [self(w.CATEGORIES[n]) if n in w.CATEGORIES else n for n in names]
        return str(format_list(named, locale=self.language)) if named else ""

    def law(self, reference: str) -> str:
        found = _LAW.match(reference)
        if found is None or found["law"] not in w.LAWS:
            return reference
        return self(w.LAWS[found["law"]], article=found["article"])

    def time(self, text: str) -> str:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return str(format_datetime(moment, "d MMMM y, HH:mm", tzinfo=ZONE, locale=self.language))


def _delivery(entry: Mapping[str, Any], say: _Words, consented: Mapping[str, str]) -> Row:
    given = entry.get("categories_delivered") or []
    basis: Mapping[str, str] = entry.get("basis") or {}
    by_law: dict[str, list[str]] = {}
    by_consent: dict[str, list[str]] = {}
    for category in given:
        kind, _, ref = str(basis.get(category, "")).partition(":")
        (by_consent if kind == "consent" else by_law).setdefault(ref, []).append(category)
    parts = [say(w.BY_LAW, law=say.law(ref), parts=say.parts(names))
             for ref, names in sorted(by_law.items())]  # fmt: skip
    for ref, names in sorted(by_consent.items()):
        when = consented.get(ref)
        parts.append(say(w.WITH_CONSENT, date=when, parts=say.parts(names)) if when
                     else say(w.WITH_CONSENT_UNDATED, parts=say.parts(names)))  # fmt: skip
    held = entry.get("categories_withheld") or []
    if held:
        parts.append(say(w.NOT_GIVEN, parts=say.parts(held)))
    text = say(w.RECEIVED, who=say.who(entry), what=say.what(entry.get("type")))
    return Row(say.time(entry["time"]), text, tuple(parts))


def describe(
    entry: Mapping[str, Any], say: _Words, consented: Mapping[str, str] | None = None
) -> Row | None:
    """The entry in words, or None for what a newcomer need not see."""
    event, type_ = entry["event"], entry.get("type")
    who = say.who(entry)
    if event == "delivery.acknowledged" or (event == "delivery.pulled" and type_ == NOTICE):
        return None  # a confirmation of a line already there; a notice is its own line
    if event == "delivery.pulled" and type_ == BRIEF:
        if not entry.get("categories_delivered"):
            return None
        return Row(say.time(entry["time"]), say(w.BRIEFED, who=who))
    if event == "delivery.pulled":
        return _delivery(entry, say, consented or {})
    if event == "message.accepted":
        text = say(w.PLANNED, who=who) if type_ == INTEGRATION_PLAN else say(
            w.SENT, who=who, what=say.what(type_))  # fmt: skip
    elif event == "message.refused":
        reason = entry.get("reason") or ""
        text = (say(w.REFUSED_BECAUSE, who=who, reason=say(w.REASONS[reason]))
                if reason in w.REASONS else say(w.REFUSED, who=who))  # fmt: skip
    elif event == "notice.delivered":
        held = entry.get("categories_withheld") or []
        text = say(w.TOLD, who=who, parts=say.parts(held) or say(w.MESSAGE))
    elif event in w.EVENTS:
        text = say(w.EVENTS[event], who=who)
    else:
        return None
    return Row(say.time(entry["time"]), text)


def _consents(entries: Sequence[Mapping[str, Any]], say: _Words) -> dict[str, str]:
    """declaration id → when it was recorded, in words."""
    found = {}
    for item in entries:
        entry = item["entry"]
        kind, _, ref = str(entry.get("reason") or "").partition(":")
        if entry["event"] == "consent.recorded" and kind == "declaration":
            found[ref] = say.time(entry["time"])
    return found


def _shared(entries: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The categories given by law and those given on consent, over every delivery."""
    law: dict[str, None] = {}
    consent: dict[str, None] = {}
    for item in entries:
        entry = item["entry"]
        if entry["event"] != "delivery.pulled" or entry.get("type") == NOTICE:
            continue
        for category, basis in (entry.get("basis") or {}).items():
            (consent if str(basis).startswith("consent:") else law)[category] = None
    return list(law), [c for c in consent if c not in law]


def render(
    v_number: str,
    entries: Sequence[Mapping[str, Any]],
    parties: Mapping[str, str],
    made_at: datetime,
    language: str = "nl",
    contact: str | None = None,
) -> str:
    """The report as one HTML page in ``language`` (one of ``LANGUAGES``); ``contact``:
    whom to ask, from the deployment's settings (a default sentence without it)."""
    say = _Words(language if language in LANGUAGES else "nl", parties)
    consented = _consents(entries, say)
    rows = [r for item in entries if (r := describe(item["entry"], say, consented))]
    law, consent = _shared(entries)
    env = Environment(
        loader=FileSystemLoader(HERE),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template("report.html").render(
        lang=say.language,
        dir="rtl" if say.language in RIGHT_TO_LEFT else "ltr",
        say=say,
        w=w,
        v_number=v_number,
        made_at=say.time(made_at.isoformat()),
        rows=rows,
        law=say.parts(law),
        consent=say.parts(consent),
        contact=contact or say(w.CONTACT_DEFAULT),
        review=say.needs_review,
    )
