"""Small counts stay hidden: no cell under 5 shown, none worked out by subtraction.

The attacker here is independent of the code: it enumerates every filling
of the hidden cells that agrees with what the page shows and with what
the rule gives away ("< 5" lies in 0..4, "x" is at least 5), and looks for
a hidden cell that describes someone (1..4) yet can take only one value.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.municipality.console import cohort
from connectors.municipality.console.facts import Newcomer
from connectors.municipality.console.suppression import Hidden, Partition, protect


def possible_values(part: Partition) -> dict[str, set[int]]:
    """Every value each hidden cell can take, given what is shown (brute force)."""
    hidden = [k for k, c in part.cells.items() if c.hidden is not Hidden.NO]
    if part.total.hidden is not Hidden.NO:
        return {k: {-1, -2} for k in hidden}  # no total shown: nothing to subtract from
    total = part.total.value
    rest = total - sum(c.value for c in part.cells.values() if c.hidden is Hidden.NO)
    ranges = [
        range(0, 5) if part.cells[k].hidden is Hidden.SMALL else range(5, total + 1) for k in hidden
    ]
    seen: dict[str, set[int]] = {k: set() for k in hidden}
    for filling in itertools.product(*ranges):
        if sum(filling) == rest:
            for k, v in zip(hidden, filling, strict=True):
                seen[k].add(v)
    return seen


counts = st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 14), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(counts)
def test_no_small_cell_shown_and_none_worked_out(cells: dict[str, int]) -> None:
    part = protect(cells)
    for key, cell in part.cells.items():
        assert cell.value == cells[key]
        if cell.hidden is Hidden.NO:
            assert cell.value >= 5
            assert cell.text == str(cell.value)
        else:
            assert cell.text in ("< 5", "x")
    if part.total.hidden is Hidden.NO:
        assert part.total.value >= 5
    for key, values in possible_values(part).items():
        if 1 <= cells[key] <= 4:
            assert len(values) > 1, (cells, key, values)


def test_the_classic_cases() -> None:
    one_small = protect({"a": 3, "b": 20, "c": 30})
    assert [c.text for c in one_small.cells.values()] == ["< 5", "x", "30"]
    two_fours = protect({"a": 4, "b": 4})
    assert two_fours.withheld and {c.text for c in two_fours.cells.values()} == {"x"}
    under = protect({"a": 2, "b": 1})
    assert under.total.text == "< 5"
    plain = protect({"a": 7, "b": 9})
    assert [c.text for c in plain.cells.values()] == ["7", "9"] and plain.total.text == "16"


def test_without_complementary_suppression_the_attacker_wins() -> None:
    """The test can fail: primary suppression alone lets one small cell be subtracted."""
    shown = Partition(
        {"a": protect({"a": 3}).cells["a"], "b": protect({"b": 20}).cells["b"]},
        protect({"t": 23}).total,
    )
    assert possible_values(shown)["a"] == {3}


def _people(n: int, seed: int) -> list[Newcomer]:
    import random

    rng = random.Random(seed)
    now = datetime.now(UTC)
    found = []

    def later(placed: datetime, chance: float) -> datetime | None:
        return placed + timedelta(days=rng.randrange(0, 100)) if rng.random() < chance else None

    for i in range(n):
        placed = now - timedelta(days=rng.randrange(0, 500))
        found.append(
            Newcomer(
                v_number=f"{i:010d}",
                placed_at=placed,
                route=rng.choice([None, "b1-route", "z-route", "onderwijsroute"]),
                provider=rng.choice([None, "p1", "p2", "p3"]),
                first_plan_at=later(placed, 0.7),
                first_report_at=later(placed, 0.5),
                attendance=rng.random() if rng.random() < 0.6 else None,
                assessments=[
                    (
                        s,
                        (placed + timedelta(days=rng.randrange(0, 400))).date().isoformat(),
                        rng.choice(["A0", "A1", "A2", "B1", "B2"]),
                    )
                    for s in ("listening", "reading")
                    if rng.random() < 0.5
                ],
                signals=rng.sample(list(cohort.SIGNALS), rng.randrange(0, 3)),
            )
        )
    return found


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 10_000))
def test_every_table_of_generated_cohorts_is_protected(size: int, seed: int) -> None:
    result = cohort.cohort(_people(size, seed), datetime.now(UTC))
    if size < 5:
        assert not result.shown and result.tables == []
        assert cohort.csv_rows(result)[1:] == [["cohort", "", "", "< 5"]]
        return
    for table in result.tables:
        for part in table.rows.values():
            shown = [c for c in part.cells.values() if c.hidden is Hidden.NO]
            assert all(c.value >= 5 for c in shown)
            assert sum(c.value for c in part.cells.values()) == part.total.value
            for key, values in possible_values(part).items():
                if 1 <= part.cells[key].value <= 4:
                    assert len(values) > 1
    for line in cohort.csv_rows(result)[1:]:
        assert line[3] in ("< 5", "x") or int(line[3]) >= 5
