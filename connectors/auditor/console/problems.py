"""The verifier's findings in the reader's words.

The verifier says what it found in English (``verify.FINDINGS``: the command line's
output, unchanged); the console says the same finding, by its kind, through the
catalogue. The gateway's own English (a signature error's detail) is left out: the
kind says what failed and where, which is what the auditor acts on. A unit test holds
this list to the verifier's.
"""

from __future__ import annotations

from connectors.auditor.console.auditlog import Verification
from connectors.consoles import words
from connectors.consoles.i18n import N_, gettext

FINDINGS = {
    "no-checkpoint": N_("the gateway has issued no checkpoint"),
    "checkpoint-invalid": N_("the signature of checkpoint {seq} does not verify"),
    "shrinks": N_("checkpoint {seq} shrinks the log from {first} to {second} entries"),
    "truncated-since": N_(
        "the log was truncated: the newest checkpoint ({seq}) covers {size} entries; "
        "{verified} were verified on {at}"
    ),
    "note-key": N_("the checkpoint note's key is not one of the gateway's published keys"),
    "note-invalid": N_("the signature of the checkpoint note does not verify"),
    "consistency": N_("the consistency proof of checkpoint {seq} does not verify"),
    "inclusion": N_("the inclusion proof of entry {index} does not verify"),
    "root": N_("the root of checkpoint {seq} ({size} entries) does not match the entries"),
    "rewritten-since": N_(
        "the log was rewritten or forked: the first {size} entries no longer have the root "
        "verified on {at}"
    ),
    "newest-invalid": N_("the signature of the newest checkpoint does not verify"),
    "truncated-watch": N_(
        "the log was truncated: the newest checkpoint covers {size} entries; {verified} were "
        "verified before"
    ),
    "forked-watch": N_("the log forked: {size} entries now have another root than before"),
    "inconsistent-watch": N_(
        "the log forked or was rewritten: {size} entries are not consistent with the "
        "{verified} verified before"
    ),
    "entry-missing": N_("entry {index} is missing"),
    "entry-index": N_("entry {index} claims another place in the log"),
    "entry-not-included": N_(
        "entry {index} is not in the tree of {size} entries the checkpoint signs"
    ),
    "truncated": N_(
        "checkpoint {seq} covers {size} entries; {verified} were verified before: the log was "
        "truncated"
    ),
    "rewritten": N_(
        "checkpoint {seq} does not extend the log verified before ({verified} entries): it was "
        "rewritten"
    ),
    "entry-missing-covered": N_("entry {index} is missing; checkpoint {seq} covers {size} entries"),
    "held-end": N_("the entries held end at {held}; checkpoint {seq} covers {size} entries"),
    "altered": N_(
        "the entries held do not make the root that checkpoint {seq} signs: an entry was "
        "altered; the entries marked not proven below are the ones"
    ),
    "not-witnessed": N_("the gateway serves no checkpoint its witnesses cosigned"),
    "quorum": N_("the witnessed checkpoint lacks the cosignatures the policy requires"),
    "witnessed-not-in-log": N_(
        "the witnessed checkpoint ({size} entries) is not part of the log verified ({verified} "
        "entries)"
    ),
    "witness-ahead": N_(
        "witness {witness} cosigned {size} entries, more than the gateway's log holds "
        "({verified}): entries were lost, or the witness was shown another log"
    ),
    "witness-forked": N_(
        "witness {witness} cosigned {size} entries with another root than this log has: a "
        "split view, or a log rewritten"
    ),
    "witness-invalid": N_("witness {witness} serves a checkpoint that does not verify"),
}
"""Each of the verifier's kinds of finding, as the console says it"""

NUMBERS = frozenset({"first", "second", "size", "verified", "held"})
"""Values that are counts of entries: written with the reader's separators"""


def problem(verdict: Verification) -> str:
    """What failed, in the reader's words (the verifier's English for a verdict kept by an
    older console, which named no kind)."""
    values = dict(verdict.values)
    if verdict.kind == "gateway":
        code = values.get("code", "")
        if code not in words.REFUSALS:
            return gettext(N_("the log does not verify"))
        asked = gettext(N_("the gateway could not be asked: {problem}"))
        return asked.format(problem=words.refusal(code))
    if verdict.kind not in FINDINGS:
        return verdict.problem
    for name in NUMBERS & values.keys():
        values[name] = words.number(values[name])
    if "at" in values:
        values["at"] = words.moment(values["at"])
    return gettext(FINDINGS[verdict.kind]).format(**values)
