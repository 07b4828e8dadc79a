"""The receipts file of a sending run: what was sent, to which gateway, and what came back.

Append-only JSON Lines, flushed per line, so a run killed at any moment
resumes where it stopped. It holds no personal data: row numbers, message
ids, the gateway's receipts (digests and audit positions) and error codes.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from gateway.errors import Conflict

RESIGN_WITHIN = timedelta(days=6)
"""Reuse a resumed run's issued_at while it is this fresh (the replay window is 7 days)"""


class ReceiptsFile:
    """Append-only JSON Lines of outcomes; the first line describes the run.

    The run line names the gateway (its URL and the ids of its signing keys):
    receipts of one gateway say nothing about another, and a file written
    for one is refused for another, or a fresh gateway would be told that
    every row was sent.
    """

    def __init__(
        self,
        path: Path,
        source_digest: str,
        now: datetime,
        gateway: tuple[str, list[str]] | None = None,
    ) -> None:
        """Raises Conflict when the file was written for another gateway."""
        self.path = path
        self.done: dict[int, str] = {}
        self.keyed: dict[str, list[dict[str, Any]]] = {}
        """key → its records that went through, oldest first (the actions' receipts,
        keyed by what the action means instead of by row)"""
        header: dict[str, Any] | None = None
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # a line half-written when the run was killed
                    if "run" in record:
                        header = header or record["run"]
                    elif "voided" in record:
                        self._forget(str(record["voided"]))
                    elif not ("receipt" in record or record.get("earlier")):
                        continue  # a refusal: nothing went through
                    elif "key" in record:
                        self.keyed.setdefault(record["key"], []).append(record)
                    else:
                        self.done[record["row"]] = record["message_id"]
        if header is not None and gateway is not None:
            _same_gateway(path, header, *gateway)
        started = _parse(header["issued_at"]) if header else None
        if started is None or now - started > RESIGN_WITHIN:
            started = now.replace(microsecond=0)
            header = None
        self.issued_at = started
        self._fh: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        if header is None:
            self.append(
                {
                    "run": {
                        "issued_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "source_sha256": source_digest,
                        **({"gateway": gateway[0], "gateway_kids": gateway[1]} if gateway else {}),
                    }
                }
            )

    def _forget(self, message_id: str) -> None:
        """A receipt voided (its entry lost in a restore): its row is to be sent again."""
        self.done = {row: done for row, done in self.done.items() if done != message_id}
        for key, records in list(self.keyed.items()):
            kept = [r for r in records if r.get("message_id") != message_id]
            if kept:
                self.keyed[key] = kept
            else:
                del self.keyed[key]

    def append(self, record: dict[str, Any]) -> None:
        """Flushed at once, so a killed process loses nothing written (fsync on close)."""
        self._fh.write(json.dumps(record, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


def _same_gateway(path: Path, header: dict[str, Any], url: str, kids: list[str]) -> None:
    """Raises Conflict, saying what to do, when ``header`` names another gateway."""
    was, was_kids = header.get("gateway"), header.get("gateway_kids")
    if was is None:
        return  # written before receipts named their gateway
    if set(was_kids or ()) & set(kids):
        return  # its signing key: the same gateway, at this address or another of its own
    if not was_kids and was.rstrip("/") == url.rstrip("/"):
        return
    raise Conflict(
        f"{path} holds receipts of gateway {was} (signing key {', '.join(was_kids or ['?'])}); "
        f"this is {url} (signing key {', '.join(kids) or '?'}), which they say nothing about. "
        "Give --receipts a new file to send every row to this gateway, or the URL of the "
        "gateway that file belongs to"
    )


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, AttributeError):
        return None


def void_lost(path: Path, report: object) -> list[str]:
    """Void the receipts of ``path`` that a restore report names lost (``receipts.lost``):
    a line ``{"voided": <message id>}`` each, fsynced, so the next run sends those rows
    again (the restored gateway takes them anew). The message ids voided, in the file's
    order; none twice. Raises ValueError for a report without the restore's receipts."""
    accounted = report.get("receipts") if isinstance(report, dict) else None
    lost = accounted.get("lost") if isinstance(accounted, dict) else None
    if not isinstance(lost, list):
        raise ValueError("not a restore report with its receipts accounted for (gateway "
                         "restore --receipts … --report FILE writes one)")  # fmt: skip
    named = {str(item.get("message_id")) for item in lost if isinstance(item, dict)}
    held: dict[str, bool] = {}  # message id -> its newest line is a receipt (not a void)
    with open(path, "rb") as raw:
        text = raw.read().decode("utf-8", errors="replace")
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "voided" in record:
            held[str(record["voided"])] = False
        elif record.get("message_id") in named and ("receipt" in record or record.get("earlier")):
            held[str(record["message_id"])] = True  # sent again after a void: held again
    fresh = [m for m, receipted in held.items() if receipted]
    with open(path, "a", encoding="utf-8") as fh:
        if text and not text.endswith("\n"):
            fh.write("\n")  # a line torn by a killed run: the first void on a line of its own
        for message_id in fresh:
            fh.write(json.dumps({"voided": message_id, "why": "lost in a restore"}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return fresh
