"""RFC 9162 Merkle math: every shared vector, and a property test over random sizes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.audit import merkle
from gateway.errors import ProofError

VECTORS = Path(__file__).resolve().parents[2] / "data" / "merkle"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))
REFERENCE_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _name(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_all_vectors_are_present() -> None:
    assert len(INCLUSION) == 98 and len(CONSISTENCY) == 98


@pytest.mark.parametrize("path", INCLUSION, ids=_name)
def test_inclusion_vector(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    args = (
        case["leafIdx"],
        case["treeSize"],
        _b(case["leafHash"]),
        [_b(p) for p in case["proof"] or []],
        _b(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_name)
def test_consistency_vector(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    args = (
        case["size1"],
        case["size2"],
        _b(case["root1"]),
        _b(case["root2"]),
        [_b(p) for p in case["proof"] or []],
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def _reference_leaves() -> list[bytes]:
    return [merkle.leaf_hash(bytes.fromhex(x)) for x in REFERENCE_LEAVES]


def _node_over(leaves: list[bytes]) -> merkle.Node:
    return lambda start, end: merkle.root_of(leaves[start:end])


def test_generated_proofs_equal_the_happy_path_vectors() -> None:
    leaves = _reference_leaves()
    for path in INCLUSION:
        case = json.loads(path.read_text())
        if case["desc"] == "happy path" and 0 < case["treeSize"] <= 8:
            proof = merkle.inclusion_path(case["leafIdx"], case["treeSize"], _node_over(leaves))
            assert [base64.b64encode(p).decode() for p in proof] == (case["proof"] or [])
            assert merkle.root_of(leaves[: case["treeSize"]]) == _b(case["root"])
    for path in CONSISTENCY:
        case = json.loads(path.read_text())
        if case["desc"] == "happy path" and 0 < case["size1"] < case["size2"] <= 8:
            proof = merkle.consistency_path(case["size1"], case["size2"], _node_over(leaves))
            assert [base64.b64encode(p).decode() for p in proof] == case["proof"]


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    changed = bytearray(proof[which])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:which], bytes(changed), *proof[which + 1 :]]


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_every_generated_proof_verifies_and_any_bit_flip_fails(
    size: int, data: st.DataObject
) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    node = _node_over(leaves)
    root = merkle.root_of(leaves)
    index = data.draw(st.integers(0, size - 1))
    path = merkle.inclusion_path(index, size, node)
    merkle.verify_inclusion(index, size, leaves[index], path, root)
    if path:
        which = data.draw(st.integers(0, len(path) - 1))
        with pytest.raises(ProofError):
            merkle.verify_inclusion(
                index, size, leaves[index], _flip(path, which, data.draw(st.integers(0, 255))), root
            )
    with pytest.raises(ProofError):
        merkle.verify_inclusion(
            index, size, _flip([leaves[index]], 0, data.draw(st.integers(0, 255)))[0], path, root
        )

    first = data.draw(st.integers(1, size))
    first_root = merkle.root_of(leaves[:first])
    proof = merkle.consistency_path(first, size, node)
    merkle.verify_consistency(first, size, first_root, root, proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        with pytest.raises(ProofError):
            merkle.verify_consistency(
                first, size, first_root, root, _flip(proof, which, data.draw(st.integers(0, 255)))
            )


def test_subtree_from_aligned_nodes_equals_the_direct_root() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(37)]
    reads: list[tuple[int, int]] = []

    def aligned(start: int, end: int) -> bytes:
        assert merkle.is_aligned(start, end)
        reads.append((start, end))
        return merkle.root_of(leaves[start:end])

    assert merkle.subtree(0, 37, aligned) == merkle.root_of(leaves)
    assert reads == [(0, 32), (32, 36), (36, 37)]  # one read per set bit of 37


def test_proof_in_a_ten_million_leaf_tree_reads_few_aligned_nodes() -> None:
    size = 10_000_000

    def build(node: merkle.Node) -> object:
        return merkle.inclusion_path(1_234_567, size, lambda s, e: merkle.subtree(s, e, node))

    needed = merkle.needed_nodes(build)
    assert all(merkle.is_aligned(s, e) for s, e in needed)
    assert len(needed) <= 2 * 24  # O(log n): never a walk over the leaves
