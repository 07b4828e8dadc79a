"""Small counts kept from view: primary and complementary suppression of a partition.

A *partition* is a row of counts that add up to a total a reader can see
(newcomers per route add up to all newcomers): whoever sees the total and
all cells but one can work the last one out by subtraction. So, as
statistical offices do:

* **primary**: every cell under the threshold (5), zero included, is shown
  as "< 5";
* **complementary**: while a reader who knows the rule could still pin
  down a hidden cell that describes anyone (a value of 1 to 4) to one
  number, from the total, the cells shown, and the bounds the rule gives
  away (a "< 5" cell lies in 0..4, a complementary one is at least 5),
  the smallest cell still shown is hidden too, shown as "x";
* when even hiding every cell leaves one pinned (a total of 8 made of two
  fours), the partition is not shown at all, total included.

For one partition the bounds are exact: with the hidden cells summing to
``R`` and each within ``[lo, hi]``, a cell can be any integer from
``max(lo, R - Σhi of the others)`` to ``min(hi, R - Σlo of the others)``.
Cells of different partitions are not linked by any sum the page shows
(the cohort page is built so), so protecting each partition protects all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

THRESHOLD = 5


class Hidden(Enum):
    NO = ""
    SMALL = "small"
    """under the threshold (shown "< 5")"""
    COMPLEMENTARY = "complementary"
    """hidden so that a small one cannot be worked out (shown "x")"""
    UNSAFE = "unsafe"
    """the whole partition is withheld"""


@dataclass(frozen=True)
class Cell:
    value: int
    hidden: Hidden = Hidden.NO

    @property
    def text(self) -> str:
        """What a page or a CSV shows; never the value of a hidden cell."""
        if self.hidden is Hidden.NO:
            return str(self.value)
        return "< 5" if self.hidden is Hidden.SMALL else "x"


@dataclass(frozen=True)
class Partition:
    cells: dict[str, Cell]
    total: Cell

    @property
    def withheld(self) -> bool:
        return self.total.hidden is not Hidden.NO


def protect(counts: dict[str, int], total: int | None = None) -> Partition:
    """The counts of one partition with their total (the sum, unless given), protected."""
    total = sum(counts.values()) if total is None else total
    if total < THRESHOLD:
        return Partition(
            {k: Cell(v, Hidden.SMALL) for k, v in counts.items()}, Cell(total, Hidden.SMALL)
        )
    hidden = {k: Hidden.SMALL for k, v in counts.items() if v < THRESHOLD}
    while hidden and _pinned(counts, hidden, total):
        shown = sorted((v, k) for k, v in counts.items() if k not in hidden)
        if not shown:
            return Partition(
                {k: Cell(v, Hidden.UNSAFE) for k, v in counts.items()}, Cell(total, Hidden.UNSAFE)
            )
        hidden[shown[0][1]] = Hidden.COMPLEMENTARY
    return Partition({k: Cell(v, hidden.get(k, Hidden.NO)) for k, v in counts.items()}, Cell(total))


def bounds(kind: Hidden, total: int) -> tuple[int, int]:
    """What a reader who knows the rule knows of a hidden cell."""
    return (0, THRESHOLD - 1) if kind is Hidden.SMALL else (THRESHOLD, total)


def _pinned(counts: dict[str, int], hidden: dict[str, Hidden], total: int) -> bool:
    """Whether some hidden cell that describes anyone can be worked out exactly."""
    rest = total - sum(v for k, v in counts.items() if k not in hidden)
    box = {k: bounds(kind, total) for k, kind in hidden.items()}
    low, high = sum(lo for lo, _ in box.values()), sum(hi for _, hi in box.values())
    for k, (lo, hi) in box.items():
        least = max(lo, rest - (high - hi))
        most = min(hi, rest - (low - lo))
        if least == most and counts[k] > 0:
            return True
    return False
