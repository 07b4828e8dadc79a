"""The auditor's verifier: checks the gateway's log without trusting the gateway.

Over HTTP only, with the gateway's published key: every checkpoint's
signature (JWS and signed note), every entry's leaf hash recomputed from the
entry object (RFC 8785 bytes), every checkpoint's root recomputed from the
leaves, the gateway's consistency proofs between consecutive checkpoints and
sampled inclusion proofs. A state file keeps the last verified checkpoint, so
that a later run detects a log that was rewritten, forked or truncated since.
Any mismatch raises LogMismatch naming the entry or checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785

from connectors.client import GatewayClient, TransportError
from gateway import checkpoints, merkle
from gateway.errors import GatewayError, LogCorrupt

PAGE = 1000
_SORTED_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class LogMismatch(GatewayError):
    """The log the gateway serves is not the log it signed, or not the one seen before."""

    code = "log-mismatch"
    title = "Audit log does not verify"


@dataclass(frozen=True)
class Verified:
    tree_size: int
    root_hash: str
    checkpoints: int
    entries: int


class RootBuilder:
    """Roots of every prefix of the log, from the leaves, with O(log n) memory.

    Its own small implementation on purpose: the verifier does not reuse the
    gateway's tree code, so a bug there cannot hide itself here.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees

    def append(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            node = hashlib.sha256(b"\x01" + left + node).digest()
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = hashlib.sha256(b"\x01" + left + node).digest()
        return node


def leaf_of(entry: dict[str, Any], claimed: str) -> bytes:
    """The leaf hash of an entry object, from its RFC 8785 bytes.

    For the entries of this log (ASCII keys, integers, no floats) the standard
    library's sorted compact JSON is byte for byte RFC 8785, at C speed; when
    the result differs from the claimed hash, the full RFC 8785 encoder decides.
    """
    quick = _SORTED_COMPACT.encode(entry)
    leaf = hashlib.sha256(b"\x00" + quick.encode()).digest()
    if leaf.hex() == claimed:
        return leaf
    return hashlib.sha256(b"\x00" + bytes(rfc8785.dumps(entry))).digest()


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


def _entries_page(client: GatewayClient, start: int, size: int) -> list[dict[str, Any]]:
    """One page of entries, parsed by the C parser.

    The strict parser guards what the gateway decides on; here every entry is
    re-encoded and hashed, so an object that parsed differently from its bytes
    (a duplicate member, say) fails its leaf hash anyway.
    """
    response = client.get("/v1/audit/entries", start=start, end=min(start + PAGE, size))
    try:
        page = json.loads(response.content)["entries"]
    except (ValueError, KeyError, TypeError):
        raise LogMismatch(f"entries from {start}: not a page of entries") from None
    if not isinstance(page, list):
        raise LogMismatch(f"entries from {start}: not a page of entries")
    return page


def _checkpoints(client: GatewayClient) -> list[tuple[int, checkpoints.Checkpoint]]:
    keys = client.gateway_keys()
    # Have the gateway sign its current state; if it cannot any more, check what it signed before.
    with contextlib.suppress(LogCorrupt):
        client.get_json("/v1/audit/checkpoint")
    found: list[tuple[int, checkpoints.Checkpoint]] = []
    after = 0
    while True:
        page = client.get_json("/v1/audit/checkpoints", after=after)
        for item in page["checkpoints"]:
            try:
                point = checkpoints.verify_jws(item["checkpoint"], keys)
            except GatewayError as error:
                raise LogMismatch(f"checkpoint {item['seq']}: {error.detail}") from None
            found.append((item["seq"], point))
        if page.get("next_after") is None:
            return found
        after = page["next_after"]


def _check_note(client: GatewayClient) -> None:
    """The text form of the newest checkpoint verifies with the published note key."""
    vkey = client.request("GET", "/v1/audit/note-key").text.strip()
    origin = vkey.split("+", 1)[0]
    key = next(
        (k for k in client.gateway_keys().values() if checkpoints.vkey(origin, k) == vkey), None
    )
    if key is None:
        raise LogMismatch("the note key is not one of the gateway's published keys")
    note = client.get("/v1/audit/checkpoint", accept="text/plain").text
    try:
        checkpoints.verify_note(note, origin, key)
    except GatewayError as error:
        raise LogMismatch(f"checkpoint note: {error.detail}") from None


def verify_log(client: GatewayClient, state_path: Path | None = None) -> Verified:
    """Verify the whole log up to the newest checkpoint.

    Raises LogMismatch naming the first entry or checkpoint that is wrong.
    """
    points = _checkpoints(client)
    if not points:
        raise LogMismatch("the gateway has issued no checkpoint")
    for (_, a), (seq_b, b) in itertools.pairwise(points):
        if b.tree_size < a.tree_size:
            raise LogMismatch(
                f"checkpoint {seq_b} shrinks the log from {a.tree_size} to {b.tree_size}"
            )
    roots_due: dict[int, list[tuple[int, checkpoints.Checkpoint]]] = {}
    for seq, point in points:
        roots_due.setdefault(point.tree_size, []).append((seq, point))
    newest_seq, newest = points[-1]
    state = load_state(state_path)
    if state is not None and newest.tree_size < state["tree_size"]:
        raise LogMismatch(
            f"log truncated: the newest checkpoint ({newest_seq}) covers {newest.tree_size} "
            f"entries; {state['tree_size']} were verified on {state['verified_at']}"
        )

    builder = RootBuilder()
    leaves: list[bytes] = []
    size = newest.tree_size
    with ThreadPoolExecutor(max_workers=1) as pool:
        # One page ahead: the gateway serves the next page while this one is hashed.
        upcoming = pool.submit(_entries_page, client, 0, size) if size else None
        for start in range(0, size, PAGE):
            assert upcoming is not None
            page = upcoming.result()
            following = start + PAGE
            upcoming = (
                pool.submit(_entries_page, client, following, size) if following < size else None
            )
            end = min(start + PAGE, newest.tree_size)
            for position, item in zip(range(start, end), page, strict=False):
                if item["index"] != position:
                    raise LogMismatch(
                        f"entry {position} is missing (the gateway served {item['index']})"
                    )
                if item["entry"].get("index") != position:
                    raise LogMismatch(f"entry {position} claims index {item['entry'].get('index')}")
                leaf = leaf_of(item["entry"], item["leaf_hash"])
                if leaf.hex() != item["leaf_hash"]:
                    raise LogMismatch(f"entry {position}: its bytes do not hash to its leaf hash")
                builder.append(leaf)
                leaves.append(leaf)
                _check_roots(builder, roots_due, state)
            if len(page) < end - start:
                raise LogMismatch(
                    f"entry {start + len(page)} is missing: checkpoint {newest_seq} covers "
                    f"{newest.tree_size} entries"
                )

    # The gateway's own proofs must agree with what was recomputed.
    for (_, a), (seq_b, b) in itertools.pairwise(points):
        if 0 < a.tree_size < b.tree_size:
            proof = client.get_json(
                "/v1/audit/proofs/consistency", first=a.tree_size, second=b.tree_size
            )
            try:
                merkle.verify_consistency(
                    a.tree_size,
                    b.tree_size,
                    bytes.fromhex(a.root_hash),
                    bytes.fromhex(b.root_hash),
                    [bytes.fromhex(p) for p in proof["path"]],
                )
            except GatewayError:
                raise LogMismatch(
                    f"checkpoint {seq_b}: consistency proof does not verify"
                ) from None
    for index in random.sample(range(newest.tree_size), min(5, newest.tree_size)):
        proof = client.get_json(
            "/v1/audit/proofs/inclusion", index=index, tree_size=newest.tree_size
        )
        try:
            merkle.verify_inclusion(
                index,
                newest.tree_size,
                leaves[index],
                [bytes.fromhex(p) for p in proof["path"]],
                bytes.fromhex(newest.root_hash),
            )
        except GatewayError:
            raise LogMismatch(f"entry {index}: inclusion proof does not verify") from None
    _check_note(client)

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
    return Verified(newest.tree_size, newest.root_hash, len(points), newest.tree_size)


def _check_roots(
    builder: RootBuilder,
    due: dict[int, list[tuple[int, checkpoints.Checkpoint]]],
    state: dict[str, Any] | None,
) -> None:
    if builder.size not in due and (state is None or builder.size != state["tree_size"]):
        return
    root = builder.root().hex()
    for seq, point in due.get(builder.size, []):
        if point.root_hash != root:
            raise LogMismatch(
                f"checkpoint {seq} (size {point.tree_size}): its root does not match the entries"
            )
    if state is not None and builder.size == state["tree_size"] and root != state["root_hash"]:
        raise LogMismatch(
            f"log rewritten or forked: the first {builder.size} entries no longer have the root "
            f"verified on {state['verified_at']}"
        )


@dataclass(frozen=True)
class Watched:
    tree_size: int
    root_hash: str
    new_entries: int
    sampled: int


def check_once(client: GatewayClient, state_path: Path, samples: int = 8) -> Watched:
    """Verify the newest checkpoint against the last verified one, and sample new entries.

    Cheap enough to run every minute: one checkpoint, one consistency proof,
    and ``samples`` entries with their inclusion proofs, however long the
    log. Raises LogMismatch on a bad signature, a shrunk or forked log, or
    an entry that is not in the tree the checkpoint signs.
    """
    token = client.get_json("/v1/audit/checkpoint").get("checkpoint")
    try:
        point = checkpoints.verify_jws(str(token), client.gateway_keys())
    except GatewayError as error:
        raise LogMismatch(f"newest checkpoint: {error.detail}") from None
    state = load_state(state_path)
    old_size = state["tree_size"] if state else 0
    since = f" verified on {state['verified_at']}" if state else ""
    if point.tree_size < old_size:
        raise LogMismatch(
            f"log truncated: the newest checkpoint covers {point.tree_size} entries; "
            f"{old_size} were{since}"
        )
    if state and point.tree_size == old_size and point.root_hash != state["root_hash"]:
        raise LogMismatch(f"log forked: size {old_size} now has another root than the one{since}")
    if state and 0 < old_size < point.tree_size:
        proof = client.get_json(
            "/v1/audit/proofs/consistency", first=old_size, second=point.tree_size
        )
        try:
            merkle.verify_consistency(
                old_size,
                point.tree_size,
                bytes.fromhex(state["root_hash"]),
                bytes.fromhex(point.root_hash),
                [bytes.fromhex(p) for p in proof["path"]],
            )
        except (GatewayError, ValueError, KeyError, TypeError):
            raise LogMismatch(
                f"log forked or rewritten: size {point.tree_size} is not consistent with "
                f"size {old_size}{since}"
            ) from None
    new = range(old_size, point.tree_size)
    chosen = sorted(random.sample(new, min(samples, len(new))))
    for index in chosen:
        _check_inclusion(client, index, point)
    save_state(
        state_path,
        {
            "tree_size": point.tree_size,
            "root_hash": point.root_hash,
            "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return Watched(point.tree_size, point.root_hash, len(new), len(chosen))


def _check_inclusion(client: GatewayClient, index: int, point: checkpoints.Checkpoint) -> None:
    page = client.get_json("/v1/audit/entries", start=index, end=index + 1).get("entries")
    if not isinstance(page, list) or not page or page[0].get("index") != index:
        raise LogMismatch(f"entry {index} is missing")
    item = page[0]
    if not isinstance(item.get("entry"), dict) or item["entry"].get("index") != index:
        raise LogMismatch(f"entry {index} claims another index")
    leaf = leaf_of(item["entry"], str(item.get("leaf_hash")))
    proof = client.get_json("/v1/audit/proofs/inclusion", index=index, tree_size=point.tree_size)
    try:
        merkle.verify_inclusion(
            index,
            point.tree_size,
            leaf,
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(point.root_hash),
        )
    except (GatewayError, ValueError, KeyError, TypeError):
        raise LogMismatch(
            f"entry {index}: not in the tree of size {point.tree_size} that the checkpoint signs"
        ) from None


def watch(
    client: GatewayClient,
    state_path: Path,
    *,
    interval: float,
    rounds: int | None = None,
    samples: int = 8,
    report: Callable[[Watched], None] = lambda _: None,
    unreachable: Callable[[str], None] = lambda _: None,
) -> None:
    """check_once every ``interval`` seconds; returns after ``rounds`` or raises LogMismatch.

    An unreachable gateway is reported and tried again next round: absence
    is not evidence of tampering, but a watcher that gave up would miss it.
    """
    done = 0
    while rounds is None or done < rounds:
        try:
            report(check_once(client, state_path, samples))
        except TransportError as error:
            unreachable(error.detail)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)
