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
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785

from connectors.client import GatewayClient, TransportError
from gateway.domain.audit import checkpoints, merkle
from gateway.errors import GatewayError, LogCorrupt, NotFound

PAGE = 1000
EXPORT = 50_000
"""Entries per export request (the gateway's limit is 100,000): small enough that
the workers' fetching and checking overlap from the start"""
SAMPLE = 16
"""Every so many exported entries is parsed and re-encoded: its bytes must be RFC 8785"""
_DECODER = json.JSONDecoder()
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


class PrefixRoots:
    """Roots of prefixes of the log, from all its leaves, level by level.

    Its own small implementation on purpose: the verifier does not reuse the
    gateway's tree code, so a bug there cannot hide itself here. Each level
    is one list comprehension over the one below (a million leaves fold in
    under a second); the root of a prefix of n leaves joins, right to left,
    the complete subtrees that the binary digits of n name.
    """

    def __init__(self, leaves: list[bytes]) -> None:
        self.levels = [leaves]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append(
                [
                    hashlib.sha256(b"\x01" + left + right).digest()
                    for left, right in zip(below[0::2], below[1::2], strict=False)
                ]
            )

    def root(self, size: int) -> bytes:
        if size == 0:
            return hashlib.sha256(b"").digest()
        parts, start = [], 0
        for height in reversed(range(size.bit_length())):
            if size >> height & 1:
                parts.append(self.levels[height][start >> height])
                start += 1 << height
        node = parts[-1]
        for left in reversed(parts[:-1]):
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


Served = tuple[int, str, dict[str, Any]]
"""An entry of a page: its index, claimed leaf hash and object"""


def _export(client: GatewayClient, start: int, size: int) -> list[bytes] | None:
    """Lines of the JSON Lines export for [start, start + EXPORT), or None without one.

    Each line is ``[index,"leaf_hash",entry]`` with the entry's stored bytes
    as they are, so they are hashed as received, never re-encoded.
    """
    try:
        response = client.get("/v1/audit/export", start=start, end=min(start + EXPORT, size))
    except NotFound:
        return None  # a gateway without the export: pages of the contract
    lines = response.content.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _exported_leaves(lines: list[bytes], start: int, end: int) -> list[bytes]:
    """Check exported lines for positions [start, end) and return their leaf hashes.

    Per line: it is entry ``position`` (else the first missing one is named),
    its bytes name that index (in RFC 8785 bytes '"index":' outside a string
    is the member, and the comma ends the number) and hash to the claimed
    leaf; every SAMPLE-th is parsed and re-encoded. Byte comparisons, so that
    a million entries cost seconds.
    """
    leaves = []
    for position, line in zip(range(start, end), lines, strict=False):
        prefix = b'[%d,"' % position
        cut = len(prefix)
        if not line.startswith(prefix) or line[cut + 64 : cut + 66] != b'",' or line[-1:] != b"]":
            raise _misplaced(line, position)
        raw = line[cut + 66 : -1]
        if b'"index":%d,' % position not in raw or position % SAMPLE == 0:
            _check_index(_parsed(raw, position), position, raw)
        leaf = hashlib.sha256(b"\x00" + raw).digest()
        if leaf.hex().encode() != line[cut : cut + 64]:
            raise LogMismatch(f"entry {position}: its bytes do not hash to its leaf hash")
        leaves.append(leaf)
    return leaves


def _misplaced(line: bytes, position: int) -> LogMismatch:
    """What is wrong with a line that is not entry ``position`` in the export's form."""
    try:
        served = json.loads(line)
        index = int(served[0])
    except (ValueError, TypeError, IndexError, KeyError):
        return LogMismatch(f"entry {position}: the export line is not an entry")
    return LogMismatch(f"entry {position} is missing (the gateway served {index})")


_WORKER_CLIENT: GatewayClient | None = None
"""The client a forked range worker clones (keys are not picklable, forks inherit)"""


def _range_leaves(start: int, size: int, covers: str, export: bool) -> bytes:
    """Leaf hashes of entries [start, start + EXPORT), checked; in a worker process.

    The export if the gateway has it, else the contract's pages. Raises
    LogMismatch naming the first wrong or missing entry.
    """
    assert _WORKER_CLIENT is not None
    client = _WORKER_CLIENT.clone()
    end = min(start + EXPORT, size)
    lines = _export(client, start, size) if export else None
    if lines is not None:
        leaves, served = _exported_leaves(lines, start, end), len(lines)
    else:
        items = _pages(client, start, size)
        leaves, served = _paged_leaves(items, start, end), len(items)
    if served < end - start:
        raise LogMismatch(f"entry {start + served} is missing: {covers}")
    return b"".join(leaves)


def _all_leaves(
    client: GatewayClient, size: int, covers: str, *, export: bool = True, jobs: int = 4
) -> list[bytes]:
    """Every entry's checked leaf hash, ranges verified in ``jobs`` processes side by side.

    Hashing and checking a million entries is Python work of several seconds.
    Each worker process fetches its own ranges, so while some wait for the
    gateway (whose workers serve several at once) others check; on two cores
    four workers keep both busy. Results are taken in order, so the first
    wrong entry is the one named.
    """
    global _WORKER_CLIENT
    _WORKER_CLIENT = client
    starts = range(0, size, EXPORT)
    with ProcessPoolExecutor(
        max_workers=max(1, min(jobs, len(starts))), mp_context=mp.get_context("fork")
    ) as pool:
        futures = [pool.submit(_range_leaves, start, size, covers, export) for start in starts]
        try:
            blobs = [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()
    return [blob[i : i + 32] for blob in blobs for i in range(0, len(blob), 32)]


def _paged_leaves(served: list[Served], start: int, end: int) -> list[bytes]:
    """Check entries of the contract's pages for [start, end); return their leaf hashes."""
    leaves = []
    for position, (index, claimed, entry) in zip(range(start, end), served, strict=False):
        if index != position:
            raise LogMismatch(f"entry {position} is missing (the gateway served {index})")
        _check_index(entry, position)
        leaf = leaf_of(entry, claimed)
        if leaf.hex() != claimed:
            raise LogMismatch(f"entry {position}: its bytes do not hash to its leaf hash")
        leaves.append(leaf)
    return leaves


def _pages(client: GatewayClient, start: int, size: int) -> list[Served]:
    """Entries [start, start + EXPORT) in the contract's pages of 1,000."""
    served: list[Served] = []
    for page_start in range(start, min(start + EXPORT, size), PAGE):
        for item in _entries_page(client, page_start, size):
            served.append((item["index"], str(item["leaf_hash"]), item["entry"]))
    return served


def _parsed(raw: bytes, position: int) -> Any:
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        raise LogMismatch(f"entry {position}: its bytes are not JSON") from None


def _check_index(entry: Any, position: int, raw: bytes | None = None) -> None:
    """The entry is an object naming ``position`` as its index (and, given its bytes,
    they are its RFC 8785 form: the quick encoder first, the full one decides).
    """
    if not isinstance(entry, dict) or entry.get("index") != position:
        claim = entry.get("index") if isinstance(entry, dict) else None
        raise LogMismatch(f"entry {position} claims index {claim}")
    if raw is not None and not (
        _SORTED_COMPACT.encode(entry).encode() == raw or bytes(rfc8785.dumps(entry)) == raw
    ):
        raise LogMismatch(f"entry {position}: not in RFC 8785 canonical form")


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


def verify_log(
    client: GatewayClient, state_path: Path | None = None, *, export: bool = True
) -> Verified:
    """Verify the whole log up to the newest checkpoint.

    ``export=False`` reads the contract's 1,000-entry pages even where the
    gateway has the export (which is otherwise taken, and is many times faster).

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

    size = newest.tree_size
    covers = f"checkpoint {newest_seq} covers {size} entries"
    leaves = _all_leaves(client, size, covers, export=export)
    _check_roots(PrefixRoots(leaves), roots_due, state)

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
    tree: PrefixRoots,
    due: dict[int, list[tuple[int, checkpoints.Checkpoint]]],
    state: dict[str, Any] | None,
) -> None:
    """Every checkpoint's root, and the state's, recomputed; the smallest size first."""
    sizes = set(due) | ({state["tree_size"]} if state is not None else set())
    for size in sorted(sizes):
        root = tree.root(size).hex()
        for seq, point in due.get(size, []):
            if point.root_hash != root:
                raise LogMismatch(
                    f"checkpoint {seq} (size {point.tree_size}): "
                    "its root does not match the entries"
                )
        if state is not None and size == state["tree_size"] and root != state["root_hash"]:
            raise LogMismatch(
                f"log rewritten or forked: the first {size} entries no longer have the root "
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
