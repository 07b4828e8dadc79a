"""CSV files as a spreadsheet writes them: each row checked against the header first.

A row with fewer cells than the header has columns is a row cut short (a
truncated export, a line broken by an unquoted newline); read as it is, its
missing cells would be absent members and the message would look complete
with empty sections. A row with more cells has a comma too many somewhere, so
every cell after it is in the wrong column. Either way the row is refused by
its line, with the counts, and the other rows go on. Every CSV reader of the
connectors (the exports, assignments, plans) reads through here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CsvRow:
    number: int
    """1-based data row number (the header not counted; blank rows counted, not yielded)"""
    line: int
    """where a person finds it: the spreadsheet's row number (the header is 1)"""
    cells: list[str]
    problem: str | None = None
    """why the row cannot be read as the header says, in words (never a value)"""


def cell_count_problem(cells: int, columns: int) -> str | None:
    """What is wrong with a row of ``cells`` cells under a header of ``columns``, or None."""
    if cells == columns:
        return None
    if cells < columns:
        return (
            f"{cells} cells where the header has {columns} columns: the row is cut short; "
            "nothing of it was sent"
        )
    return (
        f"{cells} cells where the header has {columns} columns: a cell too many "
        "(an unquoted comma?); nothing of it was sent"
    )


def read_csv(path: Path) -> tuple[list[str], list[CsvRow]]:
    """The header (names stripped) and the data rows, each with its problem if any.

    A blank row is skipped (a spreadsheet's empty last lines), not refused.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [name.strip() for name in next(reader, [])]
        rows = list(_rows(reader, len(header)))
    return header, rows


def _rows(reader: Iterator[list[str]], columns: int) -> Iterator[CsvRow]:
    for number, cells in enumerate(reader, 1):
        if not any(cell.strip() for cell in cells):
            continue
        yield CsvRow(number, number + 1, cells, cell_count_problem(len(cells), columns))


def as_dict(header: list[str], row: CsvRow) -> dict[str, str]:
    """A row whose count is right, as column name → stripped cell."""
    return {name: cell.strip() for name, cell in zip(header, row.cells, strict=True) if name}
