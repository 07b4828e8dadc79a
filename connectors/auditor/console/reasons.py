"""An audit entry's ``reason`` in words: refusal codes, the scheduled marks, and the
reasons that carry a value (``declaration:<id>``, ``certificate-oin:<oin>``,
``entries:0-1000`` …), the value kept and put in a sentence.

The auditor read "geweigerd (not-authorised)" and "(signals:scheduled)": the log's
own spelling, which the reader should not have to know. The spelling is the
contract's (docs/interface.md, audit entries); a reason no rule here knows is shown
as it is, so that a new one is seen, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.consoles import words
from connectors.consoles.i18n import N_, gettext

PLAIN = {
    "scheduled": N_("a scheduled pull"),
    "profile-read": N_("the newest profile read"),
    "profile-read:scheduled": N_("the newest profile read, in a scheduled round"),
    "assignment-not-in-force": N_("no assignment in force"),
    "already-acknowledged": N_("acknowledged before"),
    "dated-corrected": N_("a correction dated before the previous version"),
    "signals": N_("signals"),
    "signals:scheduled": N_("signals, in a scheduled walk"),
    "progress": N_("progress"),
    "progress:scheduled": N_("progress, in a scheduled read"),
    "checkpoint": N_("the newest checkpoint"),
    "witnessed": N_("the newest checkpoint its witnesses cosigned"),
    "subject-access": N_("the entries about one newcomer"),
}
"""Reasons without a value"""

VALUED = {
    "declaration": N_("declaration {value}"),
    "withdrawn": N_("withdrawn by the newcomer, declaration {value}"),
    "revoked": N_("revoked by the recording party, declaration {value}"),
    "data-subject": N_("withdrawn by the newcomer, declaration {value}"),
    "kid": N_("key {value}"),
    "certificate-oin": N_("connected with the certificate of {value}"),
    "checkpoints": N_("the checkpoints after number {value}"),
    "entries": N_("entries {first} to {second}"),
    "export": N_("the export of entries {first} to {second}"),
    "consistency": N_("the consistency proof from {first} to {second} entries"),
    "inclusion": N_("the inclusion proof of entry {first} in {second} entries"),
}
"""Reasons ``<kind>:<value>``; a range ``a-b`` (or ``index@size``) fills first and second"""


def reason(code: str | None, name: Callable[[str], str] = str) -> str:
    """The reason in the reader's words; ``name`` gives a party's name for its OIN."""
    if not code:
        return ""
    if code in PLAIN:
        return gettext(PLAIN[code])
    if code in words.REFUSALS:
        return words.refusal(code)
    kind, _, value = code.partition(":")
    if kind == "role":
        return gettext(N_("as {role}")).format(role=words.role(value))
    if kind not in VALUED or not value:
        return code
    if kind == "certificate-oin":
        value = name(value)
    if kind == "checkpoints":
        value = words.number(value.removeprefix("after:"))
    first, _, second = value.replace("@", "-").partition("-")
    if kind in ("entries", "export", "consistency", "inclusion"):
        first, second = words.number(first), words.number(second)
    return gettext(VALUED[kind]).format(value=value, first=first, second=second)
