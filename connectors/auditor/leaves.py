"""The log's leaves as an auditor gets them: fetched, checked and hashed.

From the export (the stored bytes, hashed as received, each checked to name
its own index, every 16th parsed and re-encoded to RFC 8785) or from the
contract's pages (each entry re-encoded from its object), in worker
processes side by side; and the roots of the log's prefixes, from the
leaves, by code of its own. Any mismatch raises LogMismatch naming the entry.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import rfc8785

from connectors.common.client import GatewayClient
from gateway.errors import GatewayError, NotFound

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


class Frontier:
    """The complete subtrees that the binary digits of a tree's size name, left to right.

    Enough to extend a verified tree by new leaves and compute the new root
    without the old leaves: a watcher that verified a million entries folds
    in only what was appended since (about log2 n hashes kept). The same
    right-to-left join as ``PrefixRoots.root``.
    """

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.size = size
        self.hashes = list(hashes or [])
        if len(self.hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} subtrees")

    def extend(self, leaves: list[bytes]) -> None:
        for leaf in leaves:
            node, carried = leaf, self.size
            while carried & 1:  # equal complete subtrees join, as a binary counter carries
                node = hashlib.sha256(b"\x01" + self.hashes.pop() + node).digest()
                carried >>= 1
            self.hashes.append(node)
            self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return hashlib.sha256(b"").digest()
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = hashlib.sha256(b"\x01" + left + node).digest()
        return node

    def dumps(self) -> str:
        return json.dumps({"size": self.size, "hashes": [h.hex() for h in self.hashes]})

    @classmethod
    def loads(cls, text: str) -> Frontier:
        """Raises ValueError for anything but a frontier this class wrote."""
        try:
            data = json.loads(text)
            return cls(int(data["size"]), [bytes.fromhex(h) for h in data["hashes"]])
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a frontier: {type(error).__name__}") from None


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


def all_leaves(
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
