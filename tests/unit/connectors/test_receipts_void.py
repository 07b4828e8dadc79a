"""Voiding the receipts a restore lost: the rows come back to be sent, nothing is rewritten,
a receipt taken again after the void counts, and a report of another kind is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.common.receipts import ReceiptsFile, void_lost
from connectors.common.receipts_cli import receipts

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LOST = [{"message_id": "m-2", "index": 7, "why": "after-end"}]
REPORT = {"receipts": {"kept": [{"message_id": "m-1", "index": 0}], "lost": LOST}}


def _file(path: Path) -> ReceiptsFile:
    made = ReceiptsFile(path, "0" * 64, NOW)
    for row, message_id in ((1, "m-1"), (2, "m-2")):
        made.append({"row": row, "message_id": message_id, "status": 202, "receipt": "r"})
    made.append({"row": 3, "message_id": "m-2", "status": 409, "earlier": True})  # same again
    made.close()
    return made


def _done(path: Path) -> dict[int, str]:
    again = ReceiptsFile(path, "0" * 64, NOW)
    again.close()
    return again.done


def test_a_lost_receipt_is_voided_and_its_row_is_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _file(path)
    before = path.read_text().splitlines()
    assert void_lost(path, REPORT) == ["m-2"]
    assert path.read_text().splitlines()[: len(before)] == before  # only appended to
    assert _done(path) == {1: "m-1"}  # row 3 too: it said m-2 was sent earlier
    assert void_lost(path, REPORT) == []  # voided once
    with path.open("a") as fh:  # the row sent again, its new receipt kept
        fh.write(json.dumps({"row": 2, "message_id": "m-2", "status": 202, "receipt": "s"}) + "\n")
    assert _done(path) == {1: "m-1", 2: "m-2"}


def test_a_row_sent_again_after_a_void_and_lost_again_is_voided_again(tmp_path: Path) -> None:
    """A second restore loses the row sent again after the first: it was named lost, and
    void-lost, having voided that message id once, voided nothing (the row never went)."""
    path = tmp_path / "r.jsonl"
    _file(path)
    assert void_lost(path, REPORT) == ["m-2"]
    with path.open("a") as fh:  # sent again after the first restore
        fh.write(json.dumps({"row": 2, "message_id": "m-2", "status": 202, "receipt": "s"}) + "\n")
    assert void_lost(path, REPORT) == ["m-2"]  # the second restore lost it again
    assert _done(path) == {1: "m-1"}


def test_a_torn_last_line_does_not_swallow_the_first_void(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _file(path)
    with path.open("a") as fh:
        fh.write('{"row": 4, "message_id": "m-4", "rec')  # a run killed mid-line
    assert void_lost(path, REPORT) == ["m-2"]
    assert _done(path) == {1: "m-1"}  # the void was read back


def test_a_row_the_gateway_called_sent_earlier_is_voided_too(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    made = ReceiptsFile(path, "0" * 64, NOW)
    made.append({"row": 5, "message_id": "m-2", "status": 409, "earlier": True})
    made.close()
    assert void_lost(path, REPORT) == ["m-2"] and _done(path) == {}


@pytest.mark.parametrize("report", [{}, {"receipts": None}, {"receipts": {"lost": "m-2"}}, []])
def test_a_report_without_the_restore_s_receipts_is_refused(
    tmp_path: Path, report: object
) -> None:
    path = tmp_path / "r.jsonl"
    _file(path)
    with pytest.raises(ValueError, match="restore report"):
        void_lost(path, report)


def test_the_command_voids_and_says_so_and_refuses_another_file_in_words(tmp_path: Path) -> None:
    path, report = tmp_path / "r.jsonl", tmp_path / "report.json"
    _file(path)
    report.write_text(json.dumps(REPORT))
    done = CliRunner().invoke(receipts, ["void-lost", str(path), "--report", str(report)])
    assert done.exit_code == 0 and done.output.startswith("1 receipts voided"), done.output
    report.write_text(json.dumps({"log": {}}))  # another JSON, no receipts accounted
    refused = CliRunner().invoke(receipts, ["void-lost", str(path), "--report", str(report)])
    assert refused.exit_code == 1 and "not a restore report" in refused.output
