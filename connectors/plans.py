"""Many plans at once: ``gateway connect municipality plan --file plans.csv``.

One row per plan version, with the newcomer's ``v_number`` (and ``bsn``)
and the plan's members as columns: numbers as digits, ``may_finish_current_education``
as true/false (or ja/nee), ``components`` separated by ``;``, an empty cell
for a member left out. Each row is its own message: a refused row is named
by its spreadsheet line, the others go through.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.client import GatewayClient
from connectors.municipality import send_plan, subject_of
from gateway.errors import GatewayError

_INTEGERS = ("plan_version", "estimated_hours_b1")
_TRUE, _FALSE = {"true", "ja", "yes", "1"}, {"false", "nee", "no", "0"}


@dataclass
class PlanRun:
    sent: list[tuple[int, str]] = field(default_factory=list)
    """(spreadsheet line, plan_id) of each accepted row"""
    refused: list[tuple[int, str]] = field(default_factory=list)
    """(spreadsheet line, what was wrong), never a value"""


def send_plans(client: GatewayClient, source: Path) -> PlanRun:
    """Send every row of a plans CSV; a bad row is named, never fatal to the rest."""
    run = PlanRun()
    with open(source, newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):  # line 1: the header
            try:
                plan, subject = _row(row)
                plan_id, _ = send_plan(client, plan, subject)
            except (ValueError, KeyError) as error:
                run.refused.append((line, str(error)))
            except GatewayError as error:
                run.refused.append((line, f"{error.code}: {error.detail}"))
            else:
                run.sent.append((line, plan_id))
    return run


def _row(row: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, str]]:
    cells = {k.strip(): (v or "").strip() for k, v in row.items() if k}
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
