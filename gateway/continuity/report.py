"""The restore report: what was restored, what it matched, what is lost, what was done.

Written as JSON beside the instance (the record an operator keeps with the incident) and said
in a few lines on the terminal. It holds sizes, indices, message ids, key ids and the
witnesses' names: no personal data (the log holds none either).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.continuity.logcheck import Checked
from gateway.continuity.receipts import AFTER_END, Accounting
from gateway.domain.audit import witnessed
from gateway.domain.audit.events import format_time
from gateway.domain.audit.witnessed import View
from gateway.domain.records import StoredCheckpoint

SHOWN = 20
"""lost receipts named on the terminal; the report file names every one"""
RUNBOOK = "docs/deploy.md, 'When a witness finds the log rolled back'"


@dataclass(frozen=True)
class Report:
    database: str
    checked: Checked
    data_keys_tried: int
    views: list[View]
    """what each witness last said, of every origin the log had"""
    cosigned: int | None
    """the size of the newest checkpoint the database keeps a cosignature of"""
    accounting: Accounting | None
    backup: str | None = None
    asked: bool = False
    """whether the witnesses were asked now (else ``views`` is as the database kept them)"""
    held: str | None = None
    entered: int | None = None
    """the index of the ``log.restored`` entry this restore appended"""
    not_entered: str | None = None
    signed: StoredCheckpoint | None = None
    replaced: str | None = None
    """where the database this one replaced was put"""
    notes: list[str] = field(default_factory=list)

    @property
    def witnessed(self) -> int | None:
        """The largest size of this log a witness is known to hold (cosigned, or said so)."""
        sizes = [v.size for v in self.views if v.size is not None
                 and v.verdict in (witnessed.CONSISTENT, witnessed.AHEAD)]  # fmt: skip
        return max([*sizes, *([self.cosigned] if self.cosigned is not None else [])], default=None)

    @property
    def reached(self) -> int | None:
        """The largest size the log is known to have reached: a witness's, or one past the
        index a receipt names."""
        lost = self.accounting.lost if self.accounting else []
        after = [r.index + 1 for r, why in lost if why == AFTER_END]
        known = [size for size in (self.witnessed, *after) if size is not None]
        return max(known, default=None)

    @property
    def lost(self) -> tuple[int, int] | None:
        """[first, end) of the entries known lost: past the restored log, up to ``reached``."""
        reached, size = self.reached, self.checked.size
        return (size, reached) if reached is not None and reached > size else None

    def to_json(self) -> dict[str, Any]:
        checked, newest = self.checked, self.checked.newest
        witnesses = {"asked_now": self.asked, "views": [_view(v) for v in self.views],
                     "newest_cosigned_size": self.cosigned, "holds": self.witnessed}  # fmt: skip
        return {
            "database": self.database,
            "backup": self.backup,
            "log": {
                "size": checked.size,
                "checkpoint": _point(newest) if newest else None,
                "signed_by": checked.signed_by,
                "checkpoints_matched": checked.checkpoints,
                "origins": list(checked.origins),
                "after_checkpoint": checked.size - checked.covered,
            },
            "data_keys_tried": self.data_keys_tried,
            "witnesses": witnesses,
            "lost": {"first": self.lost[0], "end": self.lost[1]} if self.lost else None,
            "held": self.held,
            "receipts": self.accounting.to_json() if self.accounting else None,
            "entered": self.entered,
            "not_entered": self.not_entered,
            "signed": _point(self.signed) if self.signed else None,
            "replaced": self.replaced,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The report in a few lines for the terminal."""
        said = [*_log_lines(self), *_witness_lines(self), *_receipt_lines(self.accounting)]
        if self.entered is not None:
            point = self.signed
            signed = f", signed by checkpoint {point.seq} (size {point.tree_size})" if point else ""
            said.append(f"entered: log.restored at index {self.entered}{signed}")
        elif self.not_entered:
            said.append(f"not entered in the log: {self.not_entered}")
        if self.replaced:
            said.append(f"the database it replaced: {self.replaced} (remove it once settled)")
        return said + self.notes


def _log_lines(report: Report) -> list[str]:
    checked, newest = report.checked, report.checked.newest
    said = [f"{'restored' if report.backup else 'checked'} {report.database}"
            + (f" from {report.backup}" if report.backup else "")]  # fmt: skip
    if newest is None:
        return [*said, "log: empty (nothing to verify)"]
    said.append(
        f"log: {checked.size} entries verify (leaf hashes, the tree's hashes, the roots of "
        f"{_count(checked.checkpoints, 'checkpoint')}); it matches checkpoint {newest.seq} of size "
        f"{newest.tree_size} signed {format_time(newest.created_at)} by key {checked.signed_by}"
    )
    if checked.size > checked.covered:
        said.append(f"  entries {checked.covered}..{checked.size - 1} came after that checkpoint:"
                    " their hashes verify, no signature covers them")  # fmt: skip
    tried = report.data_keys_tried
    said.append(f"data: the master key opens the data keys ({tried} tried)" if tried
                else "data: no newcomer's data key yet, nothing to open")  # fmt: skip
    return said


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _witness_lines(report: Report) -> list[str]:
    said = []
    for v in report.views:
        size = f" size {v.size}" if v.size is not None else ""
        said.append(f"witness {v.witness} ({v.origin}): {v.verdict}{size}")
    lost = report.lost
    if lost is not None:
        said.append(f"LOST: entries {lost[0]}..{lost[1] - 1} are lost; receipts naming an audit "
                    f"index >= {lost[0]} are not in this log")  # fmt: skip
    if report.held:
        said.append(f"HELD: the gateway answers 503 log-held until the operator decides "
                    f"({RUNBOOK})")  # fmt: skip
    return said


def _receipt_lines(done: Accounting | None) -> list[str]:
    if done is None:
        return []
    said = [f"receipts: {len(done.kept)} in this log, {len(done.lost)} lost, {len(done.foreign)} "
            f"not this gateway's, {len(done.unknown)} sent earlier without one"]  # fmt: skip
    for receipt, why in done.lost[:SHOWN]:
        said.append(f"  lost: message {receipt.message_id} at index {receipt.index} ({why})")
    if len(done.lost) > SHOWN:
        said.append(f"  ... and {len(done.lost) - SHOWN} more (every one in the report file)")
    return said


def _point(point: StoredCheckpoint) -> dict[str, Any]:
    return {"seq": point.seq, "tree_size": point.tree_size, "root_hash": point.root_hash,
            "created_at": format_time(point.created_at)}  # fmt: skip


def _view(view: View) -> dict[str, Any]:
    return {"witness": view.witness, "origin": view.origin, "size": view.size,
            "verdict": view.verdict, "detail": view.detail,
            "checked_at": format_time(view.checked_at)}  # fmt: skip


def write(report: Report, path: Path, now: datetime) -> None:
    """The report as JSON at ``path`` (0600, never over an earlier report)."""
    text = json.dumps({"at": format_time(now), **report.to_json()}, indent=2) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
