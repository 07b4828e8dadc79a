"""The contract's codes as both consoles say them: message types, audit events, categories,
outcomes, processing activities, refusal codes; and times, dates and numbers as the
reader's language writes them, in Dutch time.

A page that showed ``handover-profile`` or ``2026-01-13T22:30:00Z`` made its reader
translate; every word here is an English message id (``N_``) shown through the
catalogue of the reader's language. A code no list knows is shown as the code, so a
new one is visible rather than hidden (a unit test walks the gateway's lists).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from connectors.consoles.i18n import N_, current_language, gettext

ZONE = ZoneInfo("Europe/Amsterdam")
"""Every time a console shows is Dutch time: its readers' and the law's"""

TYPES = {
    "handover-profile": N_("handover profile"),
    "progress-report": N_("progress report"),
    "provider-assignment": N_("provider assignment"),
    "consent-declaration": N_("consent declaration"),
    "consent-withdrawal": N_("withdrawal of consent"),
    "integration-plan": N_("integration plan"),
    "duo-notification": N_("DUO notification"),
    "duo-facts": N_("facts from DUO"),
    "consent-withdrawn": N_("notice of a withdrawn consent"),
    "provider-brief": N_("provider's brief"),
}
"""Message types and the two kinds an inbox also delivers, as nouns"""

A_TYPES = {
    "handover-profile": N_("a handover profile"),
    "progress-report": N_("a progress report"),
    "provider-assignment": N_("a provider assignment"),
    "consent-declaration": N_("a consent declaration"),
    "consent-withdrawal": N_("a withdrawal of consent"),
    "integration-plan": N_("an integration plan"),
    "duo-notification": N_("a DUO notification"),
    "duo-facts": N_("facts from DUO"),
    "consent-withdrawn": N_("a notice of a withdrawn consent"),
    "provider-brief": N_("a provider's brief"),
}
"""The same, with the article a sentence needs (English "a"/"an", Dutch "een")"""

EVENTS = {
    "message.accepted": N_("message accepted"),
    "message.refused": N_("message refused"),
    "delivery.pulled": N_("delivery pulled"),
    "delivery.acknowledged": N_("delivery acknowledged"),
    "consent.recorded": N_("consent recorded"),
    "consent.withdrawn": N_("consent withdrawn"),
    "notice.delivered": N_("withdrawal notice put in an inbox"),
    "delivery.reissued": N_("delivery put in an inbox again"),
    "regie.read": N_("progress and signals read"),
    "audit.read": N_("audit log read"),
    "access.refused": N_("request refused (another organisation's certificate)"),
    "party.registered": N_("party registered"),
    "key.registered": N_("key registered"),
    "key.revoked": N_("key revoked"),
    "log.origin_changed": N_("log origin changed"),
    "log.restored": N_("log restored from a backup"),
    "signing_key.changed": N_("gateway signing key rotation step"),
    "master_key.changed": N_("master key rotation step"),
}
"""The audit log's events (``gateway.client.log.EVENTS``)"""

CATEGORIES = {
    "identity": N_("Identity"),
    "placement": N_("Placement"),
    "family": N_("Family"),
    "education": N_("Education"),
    "work_experience": N_("Work experience"),
    "languages": N_("Languages"),
    "interests": N_("Interests and capacities"),
    "health": N_("Health"),
    "casemanager_notes": N_("Case manager's notes"),
    "enrolment": N_("Enrolment"),
    "attendance": N_("Attendance"),
    "language_levels": N_("Language levels"),
    "exams": N_("Exams"),
    "modules": N_("Modules"),
    "hours": N_("Hours followed"),
    "signals": N_("Provider's signals"),
    "plan": N_("Plan"),
    "participation_goals": N_("Participation goals"),
}
"""The data categories of the profile and the reports, as the municipality's dossier names
them (the same message ids, so one translation serves both consoles)"""

OUTCOMES = {
    "ok": N_("ok"),
    "accepted": N_("accepted"),
    "refused": N_("refused"),
    "delivered": N_("delivered"),
    "withheld": N_("withheld"),
}

ACTIVITIES = {
    "inburgering/overdracht-coa": N_("handover by COA"),
    "inburgering/voortgang-aanbieder": N_("progress from the provider"),
    "inburgering/toewijzing-aanbieder": N_("assigning a provider"),
    "inburgering/toestemming": N_("consent"),
    "inburgering/plan-inburgering": N_("the integration plan"),
    "inburgering/feiten-duo": N_("DUO's facts"),
    "inburgering/notificatie-duo": N_("DUO's notifications"),
    "inburgering/regie": N_("direction: progress and signals"),
    "inburgering/brief-aanbieder": N_("the provider's brief"),
    "inburgering/ontvangst-berichten": N_("receiving messages"),
    "inburgering/beheer-gateway": N_("running the gateway"),
    "inburgering/ontvangst-gemeente": N_("receipt by the municipality"),
    "inburgering/verantwoording": N_("accountability: reads of the audit log"),
    "inburgering/toegang": N_("access to the gateway"),
}
"""Processing activities (Logboek Dataverwerkingen), by their register names"""

ROLES = {
    "coa": N_("COA"),
    "provider": N_("provider"),
    "municipality": N_("municipality"),
    "auditor": N_("auditor"),
    "duo": N_("DUO"),
}

REFUSALS = {
    "malformed": N_("not a well-formed message"),
    "unsupported-header": N_("a signature header the gateway does not take"),
    "bad-request": N_("a request the gateway cannot read"),
    "invalid-proof": N_("a proof asked for that cannot be given"),
    "invalid-checkpoint": N_("a checkpoint that does not verify"),
    "unauthenticated": N_("the sender could not be authenticated"),
    "unknown-key": N_("signed with an unknown key"),
    "key-not-valid": N_("signed with a key not valid then"),
    "invalid-signature": N_("the signature does not verify"),
    "sender-mismatch": N_("the sender is not the signer"),
    "not-authorised": N_("the sender may not send this"),
    "not-found": N_("not found"),
    "request-timeout": N_("the request took too long"),
    "conflict": N_("in conflict with what the gateway holds"),
    "replay": N_("sent before (a replay)"),
    "payload-too-large": N_("too large"),
    "uri-too-long": N_("the address is too long"),
    "headers-too-large": N_("the headers are too large"),
    "unsupported-media-type": N_("not a message the gateway takes"),
    "schema-violation": N_("the content breaks the message's schema"),
    "unavailable": N_("the gateway was not available"),
    "rate-limited": N_("too many requests"),
    "log-corrupt": N_("the audit log is damaged"),
    "log-held": N_("the audit log is held: its witnesses hold more of it than the gateway has"),
    "internal-error": N_("an error in the gateway"),
    "transport": N_("the gateway could not be reached"),
    "subject-erased": N_("this newcomer's data was erased"),
}
"""The gateway's problem codes (``gateway.errors``), as a refusal's reason"""


def _said(words: dict[str, str], code: str | None) -> str:
    return gettext(words[code]) if code in words else str(code or "")


def type_name(code: str | None) -> str:
    return _said(TYPES, code)


def a_type(code: str | None) -> str:
    """The type with its article, for a sentence; "a message" when the log names none."""
    return _said(A_TYPES, code) if code else gettext("a message")


def event_name(code: str | None) -> str:
    return _said(EVENTS, code)


def category(code: str) -> str:
    return _said(CATEGORIES, code)


def categories(codes: list[str] | None) -> str:
    """Categories in words, joined; "nothing" for none."""
    return ", ".join(category(c) for c in codes or []) or gettext("nothing")


def outcome(code: str | None) -> str:
    return _said(OUTCOMES, code)


def activity(code: str | None) -> str:
    return _said(ACTIVITIES, code)


def role(code: str | None) -> str:
    return _said(ROLES, code)


def refusal(code: str | None) -> str:
    return _said(REFUSALS, code)


def locale() -> Locale:
    try:
        return Locale.parse(current_language())
    except (UnknownLocaleError, ValueError):
        return Locale.parse("nl")


def moment(text: str, format: str = "medium") -> str:
    """A time of the log (RFC 3339, UTC) in Dutch time, as the reader's language writes it."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return str(format_datetime(when, format, tzinfo=ZONE, locale=locale()))


def day(text: str, format: str = "long") -> str:
    """A day (``yyyy-mm-dd``, already a Dutch day) as the reader's language writes it."""
    return str(format_date(date.fromisoformat(text[:10]), format, locale=locale()))


def number(value: float | int | str) -> str:
    """A number with the reader's separators; anything else as it is."""
    try:
        found = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(format_decimal(int(found) if found.is_integer() else found, locale=locale()))
