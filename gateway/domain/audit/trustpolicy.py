"""Which logs and witnesses are trusted, and how many witnesses make a quorum: C2SP tlog-policy.

One file format for both sides: the gateway reads its witnesses (and their
addresses) from it and serves the newest checkpoint its quorum cosigned; a
client (the auditor's verifier and console, a municipality's tool) reads its
own and accepts a checkpoint only when the log signed it and the quorum
cosigned it. The format is C2SP's, read strictly:

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <name>...
    quorum <name>|none

Names are the policy's own (a witness's key name is in its vkey); a group or
the quorum names only what earlier lines defined. Must not import Flask or SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.domain.audit.notes import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    NOTE,
    Note,
    Verifier,
    parse_vkey,
    verified,
)
from gateway.errors import CheckpointError

LIMIT = 32
"""logs, witnesses and groups each: what C2SP asks an implementation to support at least"""
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Group:
    needed: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    logs: tuple[tuple[Verifier, str | None], ...] = ()
    witnesses: dict[str, tuple[Verifier, str | None]] = field(default_factory=dict)
    """policy name → (cosigner key, submission URL)"""
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = "none"

    def witnessed_by(self, cosigned: set[str]) -> bool:
        """Whether the witnesses named (policy names) meet the quorum."""
        return self._meets(self.quorum, cosigned)

    def _meets(self, name: str, cosigned: set[str]) -> bool:
        if name == "none":
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        return sum(self._meets(m, cosigned) for m in group.members) >= group.needed

    def cosigners(self, note: Note) -> set[str]:
        """The policy names of the witnesses whose cosignature lines on ``note`` verify.
        Raises CheckpointError when a line of a known key fails (the whole note fails)."""
        keys = {name: verifier for name, (verifier, _) in self.witnesses.items()}
        found = verified(note, list(keys.values()))
        return {name for name, key in keys.items() if key.name in found}

    def check(self, note: Note) -> set[str]:
        """A checkpoint note this policy accepts: signed by one of its logs and cosigned by
        its quorum; the witnesses that cosigned. Raises CheckpointError in words."""
        signed = verified(note, [key for key, _ in self.logs])
        if self.logs and not any(key.name in signed for key, _ in self.logs):
            raise CheckpointError("the checkpoint is not signed by a log this policy trusts")
        cosigned = self.cosigners(note)
        if not self.witnessed_by(cosigned):
            have = ", ".join(sorted(cosigned)) or "none"
            raise CheckpointError(
                f"the checkpoint lacks the policy's quorum of witnesses ({self.quorum}): "
                f"cosigned by {have}"
            )
        return cosigned


def parse(text: str) -> Policy:
    """A policy file. Raises CheckpointError naming the line that breaks the format."""
    logs: list[tuple[Verifier, str | None]] = []
    witnesses: dict[str, tuple[Verifier, str | None]] = {}
    groups: dict[str, Group] = {}
    quorum: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            if any(c < " " and c != "\t" for c in line):
                raise CheckpointError("control characters")
            if quorum is not None and words[0] == "quorum":
                raise CheckpointError("a second quorum line")
            if words[0] == "log":
                logs.append(_log(words, logs))
            elif words[0] == "witness":
                name, entry = _witness(words, witnesses, groups)
                witnesses[name] = entry
            elif words[0] == "group":
                name, group = _group(words, witnesses, groups)
                groups[name] = group
            elif words[0] == "quorum" and len(words) == 2:
                if words[1] != "none" and words[1] not in witnesses and words[1] not in groups:
                    raise CheckpointError(f"the quorum names {words[1]}, defined nowhere before")
                quorum = words[1]
            else:
                raise CheckpointError(f"unknown line '{words[0]}'")
        except CheckpointError as error:
            raise CheckpointError(f"policy line {number}: {error.detail}") from None
    if quorum is None:
        raise CheckpointError("the policy has no quorum line (quorum none: no witnesses)")
    if max(len(logs), len(witnesses), len(groups)) > LIMIT:
        raise CheckpointError(f"more than {LIMIT} logs, witnesses or groups")
    return Policy(tuple(logs), witnesses, groups, quorum)


def _url(words: list[str], at: int) -> str | None:
    if len(words) <= at:
        return None
    if len(words) > at + 1 or not _URL.match(words[at]):
        raise CheckpointError("a URL (http:// or https://) is the one thing after the key")
    return words[at]


def _log(words: list[str], logs: list[tuple[Verifier, str | None]]) -> tuple[Verifier, str | None]:
    if len(words) < 2:
        raise CheckpointError("log <vkey> [<url>]")
    key = parse_vkey(words[1], (NOTE,))
    if any(k.public == key.public for k, _ in logs):
        raise CheckpointError("a log listed twice")
    return key, _url(words, 2)


def _witness(
    words: list[str], witnesses: dict[str, tuple[Verifier, str | None]], groups: dict[str, Group]
) -> tuple[str, tuple[Verifier, str | None]]:
    if len(words) < 3:
        raise CheckpointError("witness <name> <vkey> [<url>]")
    name = words[1]
    if name == "none" or name in witnesses or name in groups:
        raise CheckpointError(f"the name {name} is taken")
    key = parse_vkey(words[2], (ED25519_COSIGNATURE, MLDSA44_COSIGNATURE))
    if any(k.public == key.public for k, _ in witnesses.values()):
        raise CheckpointError("a witness listed twice")
    return name, (key, _url(words, 3))


def _group(
    words: list[str], witnesses: dict[str, tuple[Verifier, str | None]], groups: dict[str, Group]
) -> tuple[str, Group]:
    if len(words) < 4:
        raise CheckpointError("group <name> all|any|<k> <name>...")
    name, rule, members = words[1], words[2], words[3:]
    if name == "none" or name in witnesses or name in groups:
        raise CheckpointError(f"the name {name} is taken")
    unknown = [m for m in members if m not in witnesses and m not in groups]
    if unknown or len(set(members)) != len(members):
        raise CheckpointError("a group's members are names defined before, each once")
    if rule == "all":
        needed = len(members)
    elif rule == "any":
        needed = 1
    elif re.fullmatch(r"[1-9][0-9]*", rule) and int(rule) <= len(members):
        needed = int(rule)
    else:
        raise CheckpointError("a group's threshold is all, any, or 1..the number of members")
    return name, Group(needed, tuple(members))
