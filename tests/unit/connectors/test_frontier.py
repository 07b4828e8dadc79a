"""The auditor console's frontier: the root of a grown tree without its old leaves."""

from __future__ import annotations

import hashlib
import random

import pytest

from connectors.auditor.leaves import Frontier
from gateway.domain.audit import merkle


def _leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(str(i).encode()) for i in range(count)]


def test_every_size_and_every_way_of_growing_gives_the_trees_root() -> None:
    rng = random.Random(7)
    leaves = _leaves(140)
    for size in range(len(leaves) + 1):
        frontier, done = Frontier(), 0
        while done < size:  # grown in random steps, each kept and loaded again
            step = rng.randint(1, 9)
            frontier.extend(leaves[done : min(size, done + step)])
            done = frontier.size
            frontier = Frontier.loads(frontier.dumps())
        assert frontier.size == size
        assert frontier.root() == merkle.root_of(leaves[:size]), size
        assert len(frontier.hashes) == size.bit_count()  # log2 n hashes kept, not n


def test_the_empty_tree_has_the_hash_of_nothing() -> None:
    assert Frontier().root() == hashlib.sha256(b"").digest()


@pytest.mark.parametrize(
    "text", ["", "[]", '{"size": 3, "hashes": []}', '{"size": 1}', '{"size": 1, "hashes": ["zz"]}']
)
def test_anything_but_a_kept_frontier_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Frontier.loads(text)
