"""One audit entry in a sentence, and a finding's message with its values, in the reader's
language: types, categories, events, reasons and processing activities in words, times
in Dutch time and numbers as the language writes them.

The log's members are codes on purpose (they are the contract); the auditor reads
sentences. Every word comes from the catalogue (``connectors.consoles.words`` for what
both consoles say, ``reasons`` for the log's reasons), so a Dutch page holds no English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.auditor.console import reasons
from connectors.consoles import words as said
from connectors.consoles.i18n import N_, gettext

WORDS = {
    "message.accepted": N_("{actor} sent {a_type}: accepted"),
    "message.refused": N_("{a_type} from {actor} refused: {reason}"),
    "delivery.pulled": N_("{actor} pulled {a_type}: delivered {delivered}; withheld {withheld}"),
    "delivery.acknowledged": N_("{actor} acknowledged {a_type}"),
    "consent.recorded": N_("{actor} recorded a consent ({reason})"),
    "consent.withdrawn": N_("{actor} recorded a withdrawal of consent ({reason})"),
    "notice.delivered": N_("a withdrawal notice put in the inbox of {actor}: {withheld}"),
    "delivery.reissued": N_(
        "{a_type} put in the inbox of {actor} again after a consent ({reason}): {delivered}"
    ),
    "regie.read": N_("{actor} read progress and signals ({reason})"),
    "audit.read": N_("{actor} read the audit log ({reason})"),
    "access.refused": N_("a request of {actor} refused ({reason})"),
    "party.registered": N_("party {actor} registered ({reason})"),
    "key.registered": N_("a key of {actor} registered ({reason})"),
    "key.revoked": N_("a key of {actor} revoked ({reason})"),
    "log.origin_changed": N_("the log's checkpoints name a new origin from here on ({reason})"),
    "log.restored": N_("the log was restored from a backup and goes on from here ({reason})"),
    "signing_key.changed": N_("a step in rotating the gateway's signing key ({reason})"),
    "master_key.changed": N_("a step in rotating the gateway's master key ({reason})"),
}
"""Each event of the log (``gateway.client.log.EVENTS``) as a sentence"""

NUMBERS = frozenset({"count", "usual", "times", "gap", "interval", "first", "second"})
"""A finding's values that are amounts (not an entry's or a checkpoint's number)"""


def entry_words(entry: Mapping[str, Any], name: Callable[[str | None], str]) -> str:
    """One entry in a sentence, from its own members only; ``name`` names a party by OIN.
    A reason the sentence has no place for follows it in brackets."""
    event = str(entry.get("event"))
    template = WORDS.get(event)
    if template is None:
        return said.event_name(event)
    why = reasons.reason(entry.get("reason"), lambda oin: name(oin) or oin)
    if entry.get("actor"):
        actor = name(entry.get("actor"))
    elif event == "message.refused":
        actor = gettext(N_("a sender not verified"))
    else:
        actor = gettext("the operator")
    sentence = gettext(template).format(
        actor=actor,
        a_type=said.a_type(entry.get("type")),
        reason=why or "-",
        delivered=said.categories(entry.get("categories_delivered")),
        withheld=said.categories(entry.get("categories_withheld")),
    )
    return sentence if "{reason}" in template or not why else f"{sentence} ({why})"


def finding_words(message: str, values: tuple[tuple[str, str], ...]) -> str:
    """A finding's message (or a rule's threshold) in the reader's language, its values in
    words: categories and events named, amounts with the language's separators, a Dutch
    local time as the language writes it."""
    shown = dict(values)
    for key in NUMBERS & shown.keys():
        shown[key] = said.number(shown[key])
    if "category" in shown:
        shown["category"] = said.category(shown["category"])
    if "event" in shown:
        shown["event"] = said.event_name(shown["event"])
    if "local" in shown:
        local = datetime.strptime(shown["local"], "%Y-%m-%d %H:%M").replace(tzinfo=said.ZONE)
        shown["local"] = said.moment(local.isoformat(), "short")
    return gettext(message).format(**shown)
