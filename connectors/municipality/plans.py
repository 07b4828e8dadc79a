"""Many plans at once: ``gateway connect municipality plan --file plans.csv``.

One row per plan version, with the newcomer's ``v_number`` (and ``bsn``)
and the plan's members as columns: numbers as digits, ``may_finish_current_education``
as true/false (or ja/nee), ``components`` separated by ``;``, an empty cell
for a member left out. Each row is its own message: a refused row is named
by its spreadsheet line, the others go through. A row that was receipted
before sends nothing (``connectors/municipality/actions.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.common.rows import as_dict, read_csv
from connectors.municipality.actions import subject_of

_INTEGERS = ("plan_version", "estimated_hours_b1")
_TRUE, _FALSE = {"true", "ja", "yes", "1"}, {"false", "nee", "no", "0"}


@dataclass(frozen=True)
class PlanRow:
    line: int
    """the spreadsheet's row (the header is 1)"""
    plan: dict[str, Any]
    subject: dict[str, str]
    problem: str | None = None
    """why the row cannot be sent, in words (never a value)"""


def plan_rows(source: Path) -> Iterator[PlanRow]:
    """Every data row of a plans CSV, each a plan and its newcomer, or the problem."""
    header, rows = read_csv(source)
    for row in rows:
        if row.problem is not None:
            yield PlanRow(row.line, {}, {}, row.problem)
            continue
        try:
            plan, subject = _row(as_dict(header, row))
        except ValueError as error:
            yield PlanRow(row.line, {}, {}, str(error))
        else:
            yield PlanRow(row.line, plan, subject)


def _row(cells: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    cells = dict(cells)
    v_number = cells.pop("v_number", "")
    if not (v_number.isdigit() and len(v_number) == 10):
        raise ValueError("column v_number: a V-nummer is 10 digits")
    subject = subject_of(v_number, cells.pop("bsn", "") or None)
    plan: dict[str, Any] = {}
    for name, text in cells.items():
        if not text:
            continue
        if name in _INTEGERS:
            if not text.isdigit():
                raise ValueError(f"column {name}: a whole number")
            plan[name] = int(text)
        elif name == "may_finish_current_education":
            if text.lower() not in _TRUE | _FALSE:
                raise ValueError(f"column {name}: true or false")
            plan[name] = text.lower() in _TRUE
        elif name == "components":
            plan[name] = [part.strip() for part in text.split(";") if part.strip()]
        else:
            plan[name] = text
    return plan, subject
