"""RFC 9162 §2.1 Merkle tree math: hashes, proofs, and their verification.

Proof generation works over ``node(start, end)``, the hash of the subtree of
leaves [start, end). The store answers it from complete, aligned subtrees it
keeps, so a proof in a log of 10 million entries reads O(log n) hashes and
never recomputes over all leaves; ``needed_nodes`` says which ones, so they
can be fetched in one query. Verification follows the RFC's algorithms step
by step and is what the auditor runs. Must not import Flask or SQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from gateway.errors import ProofError

Node = Callable[[int, int], bytes]
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def is_aligned(start: int, end: int) -> bool:
    """A complete subtree: a power-of-two run of leaves starting at a multiple of it."""
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def subtree(start: int, end: int, aligned: Node) -> bytes:
    """MTH of leaves [start, end) from complete aligned subtrees (O(log n) of them)."""
    if is_aligned(start, end):
        return aligned(start, end)
    k = split(end - start)
    return node_hash(aligned(start, start + k), subtree(start + k, end, aligned))


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, in memory (tests, the verifier)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives RFC 9162's shape: a lone right node is promoted.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_path(index: int, size: int, node: Node) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]), leaf-side first.

    Raises ProofError when index is not below size.
    """
    if not 0 <= index < size:
        raise ProofError("index must be below tree_size")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root, then reverse: the RFC lists the leaf side first.
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(node(start + k, end))
            end = start + k
        else:
            path.append(node(start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_path(first: int, second: int, node: Node) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[second]).

    Raises ProofError unless 0 < first <= second.
    """
    if not 0 < first <= second:
        raise ProofError("need 0 < first <= second")
    path: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            path.append(node(start + k, end))
            end = start + k
        else:
            path.append(node(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(node(start, end))
    path.reverse()
    return path


def needed_nodes(build: Callable[[Node], object]) -> set[tuple[int, int]]:
    """The aligned subtrees a proof or root over ``subtree`` will read."""
    wanted: set[tuple[int, int]] = set()

    def record(start: int, end: int) -> bytes:
        wanted.add((start, end))
        return EMPTY_ROOT

    build(record)
    return wanted


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2. Raises ProofError when the proof does not verify."""
    if not 0 <= index < size:
        raise ProofError("index must be below tree_size")
    _check_hashes([leaf, root, *path])
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2. Raises ProofError when the proof does not verify.

    A proof from the empty tree proves nothing and is refused, as are sizes
    out of order and equal sizes with a non-empty proof or different roots.
    """
    if first == 0 or first > second:
        raise ProofError("need 0 < first <= second")
    if first == second:
        if path or first_root != second_root:
            raise ProofError("equal sizes need an empty proof and equal roots")
        return
    _check_hashes([first_root, second_root, *path])
    if not path:
        raise ProofError("empty consistency proof")
    nodes = list(path)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency path too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not lead to both roots")


def _check_hashes(hashes: Sequence[bytes]) -> None:
    if any(len(h) != 32 for h in hashes):
        raise ProofError("every hash must be 32 bytes")
