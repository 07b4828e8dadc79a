"""A newcomer's access report (GDPR art. 15): who received what, when, and why.

Built from the audit entries about one newcomer (by pseudonym) and the party
register, in plain Dutch with an English version, as one self-contained HTML
page. The entries hold no personal data; the report shows the V-nummer only
because it is the newcomer's own copy, handed to them by the operator.
Jinja2 (which Flask brings) renders it with autoescaping on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, select_autoescape

from gateway.domain.vocabulary import (
    CONSENT_DECLARATION,
    CONSENT_WITHDRAWAL,
    HANDOVER_PROFILE,
    INTEGRATION_PLAN,
    PROGRESS_REPORT,
    PROVIDER_ASSIGNMENT,
)
from gateway.domain.vocabulary import CONSENT_WITHDRAWN as NOTICE
from gateway.domain.vocabulary import PROVIDER_BRIEF as BRIEF

TYPES = {
    HANDOVER_PROFILE: ("uw overdrachtsdossier (blauwe map)", "your handover file (blue folder)"),
    PROGRESS_REPORT: (
        "een voortgangsrapportage over uw inburgering",
        "a progress report on your integration",
    ),
    PROVIDER_ASSIGNMENT: (
        "de toewijzing van uw taalaanbieder",
        "the assignment of your course provider",
    ),
    CONSENT_DECLARATION: ("uw toestemmingsverklaring", "your consent declaration"),
    CONSENT_WITHDRAWAL: ("de intrekking van uw toestemming", "the withdrawal of your consent"),
    INTEGRATION_PLAN: (
        "uw plan inburgering en participatie (PIP)",
        "your integration and participation plan (PIP)",
    ),
}
CATEGORIES = {
    "identity": ("identiteit", "identity"),
    "placement": ("huisvesting en plaatsing", "placement and housing"),
    "family": ("gezin", "family"),
    "education": ("opleiding", "education"),
    "work_experience": ("werkervaring", "work experience"),
    "languages": ("talen", "languages"),
    "interests": ("interesses en ambities", "interests and ambitions"),
    "health": ("gezondheid", "health"),
    "casemanager_notes": ("notities van de casemanager", "case manager's notes"),
    "enrolment": ("inschrijving", "enrolment"),
    "attendance": ("aanwezigheid", "attendance"),
    "language_levels": ("taalniveaus", "language levels"),
    "exams": ("examens", "exams"),
    "modules": ("modules", "modules"),
    "signals": ("signalen", "signals"),
    "plan": (
        "de samenvatting van uw plan: route, niveau, uren",
        "the summary of your plan: route, level, hours",
    ),
    "participation_goals": ("uw participatiedoelen", "your participation goals"),
}
REASONS = {
    "not-authorised": (
        "de afzender mocht dit niet sturen",
        "the sender was not allowed to send it",
    ),
    "schema-violation": (
        "het bericht was onvolledig of onjuist",
        "the message was incomplete or wrong",
    ),
    "replay": ("het bericht was te oud", "the message was too old"),
    "conflict": (
        "het bericht botste met een eerder bericht",
        "it conflicted with an earlier message",
    ),
}

TEMPLATE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ t.title }}</title>
<style>
body{font-family:sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5;color:#1b1b1b}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}.small{color:#555;font-size:.9em}
</style></head>
<body>
{% for section in sections %}
<section lang="{{ section.lang }}">
<h1>{{ section.t.title }}</h1>
<p>{{ section.t.intro }} <strong>{{ v_number }}</strong>. {{ section.t.made }} {{ made_at }}.</p>
{% if section.rows %}
<table><tr><th>{{ section.t.when }}</th><th>{{ section.t.what }}</th></tr>
{% for row in section.rows %}<tr><td>{{ row.when }}</td><td>{{ row.text }}</td></tr>
{% endfor %}</table>
{% else %}<p>{{ section.t.none }}</p>{% endif %}
<p class="small">{{ section.t.proof }}</p>
</section>
{% endfor %}
</body></html>
"""

TEXT = {
    "nl": {
        "title": "Wie heeft welke gegevens over u gekregen?",
        "intro": "Dit overzicht toont alles wat de inburgeringsgateway heeft vastgelegd "
        "over V-nummer",
        "made": "Gemaakt op",
        "when": "Wanneer",
        "what": "Wat er gebeurde",
        "none": "Er is niets over u vastgelegd.",
        "proof": "Elke regel staat in een beveiligd logboek dat een onafhankelijke controleur kan "
        "nakijken. Vragen? Neem contact op met uw gemeente.",
    },
    "en": {
        "title": "Who received which data about you?",
        "intro": "This overview shows everything the civic integration gateway recorded "
        "about V-number",
        "made": "Made on",
        "when": "When",
        "what": "What happened",
        "none": "Nothing has been recorded about you.",
        "proof": "Every line is in a tamper-evident log that an independent auditor can check. "
        "Questions? Contact your municipality.",
    },
}


@dataclass(frozen=True)
class Row:
    when: str
    text: str


PHRASES = {
    "sent": ("{who} stuurde {what}.", "{who} sent {what}."),
    "planned": ("{who} stelde uw plan vast.", "{who} decided your plan."),
    "briefed": (
        "{who} kreeg de samenvatting van uw plan: route, niveau, uren.",
        "{who} received the summary of your plan: route, level, hours.",
    ),
    "refused": (
        "Een bericht van {who} werd geweigerd{reason}.",
        "A message from {who} was refused{reason}.",
    ),
    "received": ("{who} ontving {what}", "{who} received {what}"),
    "parts": (
        " (onderdelen: {parts}), op grond van {bases}",
        " (parts: {parts}), on the basis of {bases}",
    ),
    "withheld": (". Niet gegeven: {parts}", ". Withheld: {parts}"),
    "consent.recorded": ("{who} legde uw toestemming vast.", "{who} recorded your consent."),
    "consent.withdrawn": (
        "{who} legde vast dat u uw toestemming introk.",
        "{who} recorded that you withdrew your consent.",
    ),
    "audit.read": ("{who} bekeek het logboek over u.", "{who} looked at the log about you."),
    "regie.read": (
        "{who} bekeek de voortgang van uw inburgering.",
        "{who} looked at the progress of your integration.",
    ),
    "notice.delivered": (
        "{who} kreeg bericht dat u uw toestemming introk: {parts} mag {who} niet meer gebruiken.",
        "{who} was told that you withdrew your consent: {who} may no longer use {parts}.",
    ),
    "unknown": ("een onbekende partij", "an unknown party"),
    "message": ("een bericht", "a message"),
    "legal": ("de wet ({ref})", "the law ({ref})"),
    "consent": ("uw toestemming, verklaring {ref}", "your consent, declaration {ref}"),
}


def _say(key: str, lang: int, **values: str) -> str:
    return PHRASES[key][lang].format(**values)


def _basis(basis: str, lang: int) -> str:
    kind, _, ref = basis.partition(":")
    return _say(kind, lang, ref=ref) if kind in ("legal", "consent") else basis


def _categories(names: Sequence[str], lang: int) -> str:
    return ", ".join(CATEGORIES.get(n, (n, n))[lang] for n in names)


def describe(entry: Mapping[str, Any], parties: Mapping[str, str], lang: int) -> str | None:
    """One plain sentence for one entry, or None for entries a newcomer need not see."""
    who = parties.get(entry.get("actor") or "") or _say("unknown", lang)
    what = TYPES[entry["type"]][lang] if entry.get("type") in TYPES else _say("message", lang)
    event = entry["event"]
    if event == "message.accepted":
        planned = entry.get("type") == INTEGRATION_PLAN
        return _say("planned", lang, who=who) if planned else _say("sent", lang, who=who, what=what)
    if event == "delivery.pulled" and entry.get("type") == BRIEF:
        return _say("briefed", lang, who=who) if entry.get("categories_delivered") else None
    if event == "delivery.acknowledged" and entry.get("type") == BRIEF:
        return None
    if event == "message.refused":
        reason = REASONS.get(entry.get("reason") or "", ("", ""))[lang]
        return _say("refused", lang, who=who, reason=f": {reason}" if reason else "")
    if event == "notice.delivered":
        held = entry.get("categories_withheld") or []
        parts = _categories(held, lang) or _say("message", lang)
        return _say(event, lang, who=who, parts=parts)
    if event in ("delivery.pulled", "delivery.acknowledged") and entry.get("type") == NOTICE:
        return None  # the notice itself is the line above: that they were told
    if event in ("delivery.pulled", "delivery.acknowledged"):
        text = _say("received", lang, who=who, what=what)
        given, held = (
            entry.get("categories_delivered") or [],
            entry.get("categories_withheld") or [],
        )
        if given:
            bases = "; ".join(
                sorted({_basis(b, lang) for b in (entry.get("basis") or {}).values()})
            )
            text += _say("parts", lang, parts=_categories(given, lang), bases=bases)
        if held:
            text += _say("withheld", lang, parts=_categories(held, lang))
        return text + "."
    if event in ("consent.recorded", "consent.withdrawn", "audit.read", "regie.read"):
        return _say(event, lang, who=who)
    return None


def render(
    v_number: str,
    entries: Sequence[Mapping[str, Any]],
    parties: Mapping[str, str],
    made_at: datetime,
) -> str:
    """The report as one HTML page, Dutch first, then English."""
    sections = []
    for lang, code in ((0, "nl"), (1, "en")):
        rows = []
        for item in entries:
            entry = item["entry"]
            text = describe(entry, parties, lang)
            if text is not None:
                rows.append(Row(when=entry["time"][:16].replace("T", " ") + " UTC", text=text))
        sections.append({"lang": code, "t": TEXT[code], "rows": rows})
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(TEMPLATE).render(
        lang="nl",
        t=TEXT["nl"],
        sections=sections,
        v_number=v_number,
        made_at=made_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
