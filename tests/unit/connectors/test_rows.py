"""A CSV row with fewer or more cells than the header is refused by its line (issue #25).

A truncated spreadsheet row used to be read as a complete one with its
missing cells absent: COA's 10-of-41-column row became a profile that looked
whole with empty sections. Every CSV reader of the connectors refuses it now,
by line, and reads the other rows.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.coa import handover as coa
from connectors.common import exportfile
from connectors.common.addressing import Municipalities
from connectors.common.rows import cell_count_problem, read_csv
from connectors.municipality.plans import plan_rows
from connectors.provider import reports as provider
from gateway.devtools import samplefiles

PROFILE = exportfile.body_schema("handover-profile")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def test_the_counts_are_said_and_which_way_they_differ() -> None:
    assert cell_count_problem(41, 41) is None
    short = cell_count_problem(10, 41)
    assert short is not None and short.startswith("10 cells where the header has 41 columns")
    assert "cut short" in short
    long = cell_count_problem(42, 41)
    assert long is not None and "a cell too many" in long


def test_a_truncated_coa_row_is_refused_by_line_and_the_others_are_read(tmp_path: Path) -> None:
    header, rows = _rows(samplefiles.SAMPLES / "coa-export.csv")
    rows = rows[:4]
    rows[1] = rows[1][:10]
    rows[2] = [*rows[2], ""]  # one more cell, even an empty one
    read = list(exportfile.read_rows(_write(tmp_path / "e.csv", header, rows), PROFILE))
    assert [r.line for r in read] == [2, 3, 4, 5]
    assert [r.data is not None for r in read] == [True, False, False, True]
    assert read[1].error is not None and read[1].error.field == ""
    assert read[1].error.reason.startswith(f"10 cells where the header has {len(header)} columns")
    assert read[2].error is not None and "a cell too many" in read[2].error.reason
    assert str(read[1].error) == f"row 2: {read[1].error.reason}"  # no empty field named


def test_a_row_with_trailing_empty_cells_as_a_spreadsheet_writes_them_is_whole(
    tmp_path: Path,
) -> None:
    header, rows = _rows(samplefiles.SAMPLES / "coa-export.csv")
    read = list(exportfile.read_rows(_write(tmp_path / "e.csv", header, rows[:3]), PROFILE))
    assert all(r.error is None for r in read)


def test_a_provider_export_row_is_checked_too(tmp_path: Path) -> None:
    header, rows = _rows(samplefiles.SAMPLES / "progress-reports.csv")
    rows = [rows[0][:3], rows[1]]
    read = provider.rows_of(_write(tmp_path / "reports.csv", header, rows))
    assert read[0].error is not None and "cut short" in read[0].error.reason
    assert read[1].error is None


def test_a_plans_row_is_checked_too(tmp_path: Path) -> None:
    header, rows = _rows(samplefiles.SAMPLES / "plans.csv")
    read = list(plan_rows(_write(tmp_path / "plans.csv", header, [rows[0][:5], rows[1]])))
    assert read[0].line == 2 and read[0].problem is not None and "cut short" in read[0].problem
    assert read[1].problem is None and read[1].plan["route"] == "z-route"


def test_the_assignment_reader_sees_the_counts(tmp_path: Path) -> None:
    header, rows = _rows(samplefiles.SAMPLES / "assignments.csv")
    path = _write(tmp_path / "a.csv", header, [rows[0][:4], rows[1], [*rows[2], "x"]])
    _, read = read_csv(path)
    assert [r.line for r in read] == [2, 3, 4]
    assert [r.problem is None for r in read] == [False, True, False]


@pytest.mark.parametrize("encoding", ["csv", "jsonl"])
def test_koppelingsdatum_is_placement_linked_on(tmp_path: Path, encoding: str) -> None:
    row = json.loads((samplefiles.SAMPLES / "coa-export.jsonl").read_text().splitlines()[0])
    row["placement"].pop("linked_on", None)  # COA's own column name instead
    if encoding == "csv":
        cells = {**exportfile.flatten(row), "koppelingsdatum": "2026-11-02"}
        path = _write(tmp_path / "k.csv", list(cells), [list(cells.values())])
    else:
        path = tmp_path / "k.jsonl"
        path.write_text(json.dumps({**row, "koppelingsdatum": "2026-11-02"}) + "\n")
    [read] = list(exportfile.read_rows(path, PROFILE, coa.ALIASES))
    assert read.data is not None
    code = row["placement"]["municipality_code"]
    towns = Municipalities([{"oin": "0" * 19 + "1", "role": "municipality",
                             "municipality_code": code}])  # fmt: skip
    built = coa.builder("00000001003214345000", towns)(1, read.data, datetime.now(UTC))
    assert built["body"]["placement"]["linked_on"] == "2026-11-02"
    assert "koppelingsdatum" not in built["body"]
