"""A newcomer's own copy of the log about them (GDPR art. 15), in their language.

Built from the audit entries about one newcomer (by pseudonym) and the party
register, as one self-contained, printable HTML page: who received what and
when (in Dutch time), on which legal basis or on which consent, what was
withheld, who was told of a withdrawal; then what a withdrawal means, the
newcomer's rights and whom to ask. Acknowledgements are left out (they are
the recipient confirming a delivery the page already lists), and so is the
administration of parties and keys, and a message put in an inbox once more
after a consent (``delivery.reissued``): its pull is the line. Reads
repeated by the same party on the same Dutch calendar day (a client manager
opening the dossier eleven times, the same delivery pulled again) are one
line with a count and the times of the first and the last; the log itself
keeps every read.

The words come from gettext catalogues (``translations/<lang>``): Dutch,
English, Arabic (right to left) and Turkish; a catalogue marked as needing a
native speaker's review says so on the page. The entries hold no personal
data; the page shows the V-nummer because it is the newcomer's own copy.
Jinja2 renders it with autoescaping on.

The template's source and the catalogues are read by an adapter
(``gateway.files.report``) and handed to a ``Renderer``: the domain opens no
file. The page's files stay here, next to the words they translate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.numbers import format_decimal
from babel.support import NullTranslations
from jinja2 import Environment, Template, select_autoescape

from gateway.domain import catalogues
from gateway.domain.report import words as w
from gateway.domain.vocabulary import CONSENT_WITHDRAWN as NOTICE
from gateway.domain.vocabulary import INTEGRATION_PLAN
from gateway.domain.vocabulary import PROVIDER_BRIEF as BRIEF

TEMPLATE = "report.html"
"""The page's template, a file of this package"""
LANGUAGES = ("nl", "en", "ar", "tr")
RIGHT_TO_LEFT = frozenset({"ar"})
ZONE = ZoneInfo("Europe/Amsterdam")
_LAW = re.compile(r"^(?P<law>[A-Za-z]+\d*)-art(?P<article>[0-9][0-9.]*)$")


def catalogue_file(language: str) -> str:
    """Where a language's catalogue is, in this package (English is the message ids)."""
    return f"translations/{language}/LC_MESSAGES/report.po"


@dataclass(frozen=True)
class Row:
    when: str
    text: str
    parts: tuple[str, ...] = ()
    """sentences below the main one: by law, with consent, not given"""
    message: str = ""
    """the main sentence's message id, so that a repeated read can be said again with a count"""
    values: tuple[tuple[str, str], ...] = ()
    """what filled the main sentence's fields"""


class _Words:
    """One language's words for one report."""

    def __init__(
        self, language: str, parties: Mapping[str, str], translations: tuple[NullTranslations, bool]
    ) -> None:
        self.language = language
        self.translations, self.needs_review = translations
        self.parties = parties

    def __call__(self, message: str, **values: str) -> str:
        return str(self.translations.ugettext(message)).format(**values)

    def row(self, entry: Mapping[str, Any], message: str, parts: Sequence[str] = (),
            **values: str) -> Row:  # fmt: skip
        """The entry's row: its time and its main sentence, kept with what said it."""
        return Row(self.time(entry["time"]), self(message, **values), tuple(parts), message,
                   tuple(sorted(values.items())))  # fmt: skip

    def many(self, forms: tuple[str, str], count: int, **values: str) -> str:
        """A sentence with a count, in the language's plural form for it (gettext)."""
        found = str(self.translations.ungettext(forms[0], forms[1], count))
        return found.format(count=format_decimal(count, locale=self.language), **values)

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
        return str(format_datetime(moment(text), "d MMMM y, HH:mm", tzinfo=ZONE,
                                   locale=self.language))  # fmt: skip

    def day(self, when: datetime) -> str:
        """The Dutch calendar day, without the year (the row's time has it): "6 december"."""
        return str(format_skeleton("MMMMd", when.astimezone(ZONE), locale=self.language))

    def hour(self, when: datetime) -> str:
        return str(format_datetime(when, "HH:mm", tzinfo=ZONE, locale=self.language))


def moment(text: str) -> datetime:
    """An entry's time (RFC 3339, UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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
    return say.row(entry, w.RECEIVED, parts, who=say.who(entry), what=say.what(entry.get("type")))


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
        return say.row(entry, w.BRIEFED, who=who)
    if event == "delivery.pulled":
        return _delivery(entry, say, consented or {})
    if event in w.EVENTS:
        return say.row(entry, w.EVENTS[event], who=who)
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
    else:
        return None
    return Row(say.time(entry["time"]), text)


def grouped(
    entries: Sequence[Mapping[str, Any]], say: _Words, consented: Mapping[str, str]
) -> list[Row]:
    """Every entry worth a line, in order; a read the same party repeated with the same
    words on the same Dutch day is one line, where the first was, with a count.

    Eleven dossier views in a minute are one fact to a newcomer ("looked at the progress
    of your integration, 11 times on 6 December"); anything that is not a read (a
    message sent, a consent recorded) stays a line of its own.
    """
    rows: list[Row] = []
    groups: dict[tuple[object, ...], tuple[int, list[datetime]]] = {}
    for item in entries:
        entry = item["entry"]
        row = describe(entry, say, consented)
        if row is None:
            continue
        if row.message not in w.REPEATED:
            rows.append(row)
            continue
        when = moment(entry["time"])
        key = (entry.get("actor"), entry["event"], when.astimezone(ZONE).date(), row.text,
               row.parts)  # fmt: skip
        if key not in groups:
            groups[key] = (len(rows), [])
            rows.append(row)
        groups[key][1].append(when)
    for at, times in groups.values():
        if len(times) > 1:
            rows[at] = _repeated(rows[at], times, say)
    return rows


def _repeated(row: Row, times: list[datetime], say: _Words) -> Row:
    """The row of a read said once for ``times`` (one Dutch day): the first and last time."""
    first, last = min(times), max(times)
    text = say.many(w.REPEATED[row.message], len(times), day=say.day(first), **dict(row.values))
    return Row(f"{say.time(first.isoformat())}\u2013{say.hour(last)}", text, row.parts,
               row.message, row.values)  # fmt: skip


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


class Renderer:
    """The report's page, given its template's source and a catalogue per language but
    English (``catalogue_file`` says where each is), as ``gateway.files.report`` reads them.

    Compiles both once (30 ms a report otherwise), so one is made per process.
    """

    def __init__(self, template: str, catalogues_by_language: Mapping[str, Catalog]) -> None:
        env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
        self.template: Template = env.from_string(template)
        self.translations: dict[str, tuple[NullTranslations, bool]] = {
            language: (catalogues.compiled(found), catalogues.needs_review(found))
            for language, found in catalogues_by_language.items()
        }
        self.translations["en"] = (NullTranslations(), False)

    def render(
        self,
        v_number: str,
        entries: Sequence[Mapping[str, Any]],
        parties: Mapping[str, str],
        made_at: datetime,
        language: str = "nl",
        contact: str | None = None,
    ) -> str:
        """The report as one HTML page in ``language`` (one of ``LANGUAGES``); ``contact``:
        whom to ask, from the deployment's settings (a default sentence without it)."""
        language = language if language in LANGUAGES else "nl"
        say = _Words(language, parties, self.translations[language])
        consented = _consents(entries, say)
        rows = grouped(entries, say, consented)
        law, consent = _shared(entries)
        return self.template.render(
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
