"""The auditor's verifier: checks the gateway's log without trusting the gateway.

Over HTTP only, with the gateway's published key: every checkpoint's
signature (JWS and signed note), every entry's leaf hash recomputed from its
bytes (as exported: hashed as received, each checked to name its own index,
every 16th parsed and re-encoded to RFC 8785; from the contract's pages:
re-encoded from the object), every
checkpoint's root recomputed from the leaves, the gateway's consistency
proofs between consecutive checkpoints and sampled inclusion proofs. A state
file keeps the last verified checkpoint, so that a later run detects a log
that was rewritten, forked or truncated since.
Any mismatch raises LogMismatch naming the entry or checkpoint.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.auditor import witnessed
from connectors.auditor.leaves import LogMismatch, PrefixRoots, all_leaves, leaf_of
from connectors.auditor.published import verified_checkpoint
from connectors.common.client import GatewayClient, TransportError
from gateway.client import log, witness
from gateway.errors import GatewayError, LogCorrupt

FINDINGS = {
    "no-checkpoint": "the gateway has issued no checkpoint",
    "checkpoint-invalid": "checkpoint {seq}: {detail}",
    "shrinks": "checkpoint {seq} shrinks the log from {first} to {second}",
    "truncated-since": "log truncated: the newest checkpoint ({seq}) covers {size} entries; "
    "{verified} were verified on {at}",
    "note-key": "the note key is not one of the gateway's published keys",
    "note-invalid": "checkpoint note: {detail}",
    "consistency": "checkpoint {seq}: consistency proof does not verify",
    "inclusion": "entry {index}: inclusion proof does not verify",
    "root": "checkpoint {seq} (size {size}): its root does not match the entries",
    "rewritten-since": "log rewritten or forked: the first {size} entries no longer have the "
    "root verified on {at}",
    "newest-invalid": "newest checkpoint: {detail}",
    "truncated-watch": "log truncated: the newest checkpoint covers {size} entries; "
    "{verified} were{since}",
    "forked-watch": "log forked: size {size} now has another root than the one{since}",
    "inconsistent-watch": "log forked or rewritten: size {size} is not consistent with "
    "size {verified}{since}",
    "entry-missing": "entry {index} is missing",
    "entry-index": "entry {index} claims another index",
    "entry-not-included": "entry {index}: not in the tree of size {size} that the checkpoint "
    "signs",
    "truncated": "checkpoint {seq} covers {size} entries; {verified} were verified before: "
    "the log was truncated",
    "rewritten": "checkpoint {seq} is not an extension of the log verified before "
    "(size {verified}): it was rewritten",
    "entry-missing-covered": "entry {index} is missing: checkpoint {seq} covers {size}",
    "held-end": "entries held end at {held}: checkpoint {seq} covers {size}",
    "altered": "the entries held do not make the root checkpoint {seq} signs: an entry was "
    "altered; the entries marked not proven below are the ones",
    **witnessed.WORDS,
}
"""What the verifier (and the auditor's console, which verifies too) finds wrong, by kind:
the English the command line prints. A console says each kind in its reader's words."""


class Mismatch(LogMismatch):
    """A LogMismatch that names its kind and values besides its English detail, so that the
    command line prints what it always printed and a console can say it in Dutch."""

    def __init__(self, kind: str, **values: object) -> None:
        super().__init__(FINDINGS[kind].format(**values))
        self.kind = kind
        self.values = {name: str(value) for name, value in values.items()}


@dataclass(frozen=True)
class Verified:
    tree_size: int
    root_hash: str
    checkpoints: int
    entries: int
    witnessed: witnessed.Witnessed | None = None
    """what the witnesses vouched for, where a policy required them"""


def load_state(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically: a crash leaves the old state or the new, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(state, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def signed_checkpoints(client: GatewayClient) -> list[tuple[int, log.Checkpoint]]:
    # Have the gateway sign its current state; if it cannot any more, check what it signed before.
    with contextlib.suppress(LogCorrupt):
        client.get_json("/v1/audit/checkpoint")
    found: list[tuple[int, log.Checkpoint]] = []
    after = 0
    while True:
        page = client.get_json("/v1/audit/checkpoints", after=after)
        for item in page["checkpoints"]:
            try:
                point = verified_checkpoint(client, item["checkpoint"])
            except GatewayError as error:
                raise Mismatch("checkpoint-invalid", seq=item["seq"], detail=error.detail) from None
            found.append((item["seq"], point))
        if page.get("next_after") is None:
            return found
        after = page["next_after"]


def consistent(client: GatewayClient, first: log.Checkpoint, second: log.Checkpoint) -> bool:
    """Whether the gateway's consistency proof shows ``second`` extends ``first``."""
    proof = client.get_json(
        "/v1/audit/proofs/consistency", first=first.tree_size, second=second.tree_size
    )
    try:
        log.verify_consistency(
            first.tree_size,
            second.tree_size,
            bytes.fromhex(first.root_hash),
            bytes.fromhex(second.root_hash),
            [bytes.fromhex(p) for p in proof["path"]],
        )
    except (GatewayError, ValueError, KeyError, TypeError):
        return False
    return True


def _check_note(client: GatewayClient) -> None:
    """The text form of the newest checkpoint verifies with the published note key."""
    vkey = client.request("GET", "/v1/audit/note-key").text.strip()
    origin = vkey.split("+", 1)[0]
    key = next((k for k in client.gateway_keys().values() if log.vkey(origin, k) == vkey), None)
    if key is None:
        raise Mismatch("note-key")
    note = client.get("/v1/audit/checkpoint", accept="text/plain").text
    try:
        log.verify_checkpoint_note(note, origin, key)
    except GatewayError as error:
        raise Mismatch("note-invalid", detail=error.detail) from None


def verify_log(
    client: GatewayClient,
    state_path: Path | None = None,
    *,
    export: bool = True,
    policy: witness.Policy | None = None,
) -> Verified:
    """Verify the whole log up to the newest checkpoint.

    ``export=False`` reads the contract's 1,000-entry pages even where the
    gateway has the export (which is otherwise taken, and is many times faster).
    With ``policy``, the witnesses it names must vouch for the log (``witnessed``).

    Raises LogMismatch naming the first entry or checkpoint that is wrong.
    """
    points = signed_checkpoints(client)
    if not points:
        raise Mismatch("no-checkpoint")
    for (_, a), (seq_b, b) in itertools.pairwise(points):
        if b.tree_size < a.tree_size:
            raise Mismatch("shrinks", seq=seq_b, first=a.tree_size, second=b.tree_size)
    roots_due: dict[int, list[tuple[int, log.Checkpoint]]] = {}
    for seq, point in points:
        roots_due.setdefault(point.tree_size, []).append((seq, point))
    newest_seq, newest = points[-1]
    state = load_state(state_path)
    if state is not None and newest.tree_size < state["tree_size"]:
        raise Mismatch("truncated-since", seq=newest_seq, size=newest.tree_size,
                       verified=state["tree_size"], at=state["verified_at"])  # fmt: skip

    size = newest.tree_size
    covers = f"checkpoint {newest_seq} covers {size} entries"
    leaves = all_leaves(client, size, covers, export=export)
    _check_roots(PrefixRoots(leaves), roots_due, state)

    _check_proofs(client, points, leaves)
    _check_note(client)
    vouched = witnessed.check(client, policy, newest) if policy is not None else None

    if state_path is not None:
        save_state(
            state_path,
            {
                "tree_size": newest.tree_size,
                "root_hash": newest.root_hash,
                "seq": newest_seq,
                "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
    return Verified(newest.tree_size, newest.root_hash, len(points), newest.tree_size, vouched)


def _check_proofs(
    client: GatewayClient, points: list[tuple[int, log.Checkpoint]], leaves: list[bytes]
) -> None:
    """The gateway's own proofs must agree with what was recomputed: consistency between
    each pair of checkpoints, inclusion of a few entries at random in the newest.

    Raises LogMismatch naming the checkpoint or entry whose proof does not verify.
    """
    for (_, a), (seq_b, b) in itertools.pairwise(points):
        if 0 < a.tree_size < b.tree_size and not consistent(client, a, b):
            raise Mismatch("consistency", seq=seq_b)
    newest = points[-1][1]
    for index in random.sample(range(newest.tree_size), min(5, newest.tree_size)):
        proof = client.get_json(
            "/v1/audit/proofs/inclusion", index=index, tree_size=newest.tree_size
        )
        try:
            log.verify_inclusion(
                index,
                newest.tree_size,
                leaves[index],
                [bytes.fromhex(p) for p in proof["path"]],
                bytes.fromhex(newest.root_hash),
            )
        except GatewayError:
            raise Mismatch("inclusion", index=index) from None


def _check_roots(
    tree: PrefixRoots,
    due: dict[int, list[tuple[int, log.Checkpoint]]],
    state: dict[str, Any] | None,
) -> None:
    """Every checkpoint's root, and the state's, recomputed; the smallest size first."""
    sizes = set(due) | ({state["tree_size"]} if state is not None else set())
    for size in sorted(sizes):
        root = tree.root(size).hex()
        for seq, point in due.get(size, []):
            if point.root_hash != root:
                raise Mismatch("root", seq=seq, size=point.tree_size)
        if state is not None and size == state["tree_size"] and root != state["root_hash"]:
            raise Mismatch("rewritten-since", size=size, at=state["verified_at"])


@dataclass(frozen=True)
class Watched:
    tree_size: int
    root_hash: str
    new_entries: int
    sampled: int
    first: bool = False
    """no checkpoint was verified before: nothing to compare this one with"""
    witnessed: witnessed.Witnessed | None = None


def check_once(
    client: GatewayClient, state_path: Path, samples: int = 8,
    policy: witness.Policy | None = None,
) -> Watched:  # fmt: skip
    """Verify the newest checkpoint against the last verified one, and sample new entries.

    Cheap enough to run every minute: one checkpoint, one consistency proof,
    and ``samples`` entries with their inclusion proofs, however long the
    log. Raises LogMismatch on a bad signature, a shrunk or forked log, or
    an entry that is not in the tree the checkpoint signs.
    """
    token = client.get_json("/v1/audit/checkpoint").get("checkpoint")
    try:
        point = verified_checkpoint(client, str(token))
    except GatewayError as error:
        raise Mismatch("newest-invalid", detail=error.detail) from None
    state = load_state(state_path)
    old_size = state["tree_size"] if state else 0
    since = f" verified on {state['verified_at']}" if state else ""
    if point.tree_size < old_size:
        raise Mismatch("truncated-watch", size=point.tree_size, verified=old_size, since=since)
    if state and point.tree_size == old_size and point.root_hash != state["root_hash"]:
        raise Mismatch("forked-watch", size=old_size, since=since)
    if state and 0 < old_size < point.tree_size:
        proof = client.get_json(
            "/v1/audit/proofs/consistency", first=old_size, second=point.tree_size
        )
        try:
            log.verify_consistency(
                old_size,
                point.tree_size,
                bytes.fromhex(state["root_hash"]),
                bytes.fromhex(point.root_hash),
                [bytes.fromhex(p) for p in proof["path"]],
            )
        except (GatewayError, ValueError, KeyError, TypeError):
            raise Mismatch("inconsistent-watch", size=point.tree_size, verified=old_size,
                           since=since) from None  # fmt: skip
    new = range(old_size, point.tree_size)
    chosen = sorted(random.sample(new, min(samples, len(new))))
    for index in chosen:
        _check_inclusion(client, index, point)
    vouched = witnessed.check(client, policy, point) if policy is not None else None
    save_state(
        state_path,
        {
            "tree_size": point.tree_size,
            "root_hash": point.root_hash,
            "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return Watched(point.tree_size, point.root_hash, len(new), len(chosen),
                   first=state is None, witnessed=vouched)  # fmt: skip


def _check_inclusion(client: GatewayClient, index: int, point: log.Checkpoint) -> None:
    page = client.get_json("/v1/audit/entries", start=index, end=index + 1).get("entries")
    if not isinstance(page, list) or not page or page[0].get("index") != index:
        raise Mismatch("entry-missing", index=index)
    item = page[0]
    if not isinstance(item.get("entry"), dict) or item["entry"].get("index") != index:
        raise Mismatch("entry-index", index=index)
    leaf = leaf_of(item["entry"], str(item.get("leaf_hash")))
    proof = client.get_json("/v1/audit/proofs/inclusion", index=index, tree_size=point.tree_size)
    try:
        log.verify_inclusion(
            index,
            point.tree_size,
            leaf,
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(point.root_hash),
        )
    except (GatewayError, ValueError, KeyError, TypeError):
        raise Mismatch("entry-not-included", index=index, size=point.tree_size) from None


def watch(
    client: GatewayClient,
    state_path: Path,
    *,
    interval: float,
    rounds: int | None = None,
    samples: int = 8,
    report: Callable[[Watched], None] = lambda _: None,
    unreachable: Callable[[str], None] = lambda _: None,
    policy: witness.Policy | None = None,
) -> None:
    """check_once every ``interval`` seconds; returns after ``rounds`` or raises LogMismatch.

    An unreachable gateway is reported and tried again next round: absence
    is not evidence of tampering, but a watcher that gave up would miss it.
    """
    done = 0
    while rounds is None or done < rounds:
        try:
            report(check_once(client, state_path, samples, policy))
        except TransportError as error:
            unreachable(error.detail)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)
