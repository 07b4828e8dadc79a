"""A submission run: the rows of an export turned into signed messages and sent.

What COA's and a provider's connector share. The guarantees a batch job
needs on a Monday morning:

* **No duplicates.** A row's message id is derived from its content (UUID v5
  over sender, type, recipient, subject and body), so the same row sent
  twice is the same message to the gateway, and a corrected row is a new one.
* **Resumable.** Every outcome is appended to a receipts file (JSON Lines)
  as it arrives; a run that is killed or stopped skips, when run again, every
  row that already has a receipt. The run's ``issued_at`` is kept in the
  file's first line, so a row that was in flight is signed again to the very
  same bytes (Ed25519 is deterministic) and the gateway answers 200 with the
  original receipt.
* **A bad row never stops the batch.** It is reported with its row number
  and the failing field (never the value); only errors that would fail every
  row alike (gateway unreachable, our key refused) stop the run, which can
  then simply be run again.

The receipts file holds no personal data: row numbers, message ids, the
gateway's receipts (digests and audit positions) and error codes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from connectors.common.addressing import Municipalities
from connectors.common.client import GatewayClient, TransportError
from connectors.common.exportfile import Row, RowError, file_digest
from connectors.common.receipts import ReceiptsFile
from gateway.client.schemas import Catalog, load_catalog
from gateway.errors import (
    Conflict,
    GatewayError,
    SchemaViolation,
    SenderMismatch,
    ServiceUnavailable,
    Unauthenticated,
)

MESSAGE_NAMESPACE = uuid.UUID("6b1d0f1e-4f0e-5d8a-9c1b-1a2b3c4d5e6f")

BATCH_SIZE = 100
"""Messages per batch request: big enough to share the gateway's commit, small
enough that a retried batch re-sends little and the progress bar moves"""
BATCH_BYTES = 8 * 1024 * 1024
"""A batch request stays under this (the gateway's default limit is 16 MiB)"""

FATAL = (TransportError, ServiceUnavailable, Unauthenticated, SenderMismatch)
"""Errors that would fail every following row alike: stop, and resume later"""


def derived_message_id(payload: dict[str, Any]) -> str:
    """The message id a row always gets, whenever and however often it is sent."""
    basis = [
        payload["sender"],
        payload["type"],
        payload["version"],
        payload["recipient"],
        payload["subject"],
        payload["body"],
    ]
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(MESSAGE_NAMESPACE, text))


@dataclass
class Summary:
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    """why the run stopped early (it can be resumed), or None when it went through"""
    line_of: dict[int, int] = field(default_factory=dict)
    """row number → where a person finds the row (spreadsheet row, file line)"""

    @property
    def failed(self) -> int:
        return len(self.failures)

    def lines(self) -> list[str]:
        names = {
            "accepted": "accepted (202)",
            "already-accepted": "already at the gateway (200, original receipt)",
            "sent-earlier": "already at the gateway (sent by an earlier run; no receipt here)",
            "resumed": "skipped: receipted in an earlier run",
            "refused": "refused by the gateway",
            "bad-row": "not sent: row cannot be read or does not validate",
        }
        out = [f"rows: {self.rows}"]
        out += [f"  {names.get(k, k)}: {v}" for k, v in sorted(self.outcomes.items())]
        for failure in self.failures[:50]:
            at = f"line {failure['line']}" if failure.get("line") else f"row {failure['row']}"
            problems = failure.get("problems") or [(failure.get("field"), failure["detail"])]
            for where_field, rule in problems:
                where = f" {where_field}:" if where_field else ""
                out.append(f"  {at}:{where} {rule}" + ("" if failure["code"] == "bad-row"
                                                        else f" ({failure['code']})"))  # fmt: skip
        if len(self.failures) > 50:
            out.append(f"  … and {len(self.failures) - 50} more in the receipts file")
        if self.stopped:
            out.append(f"STOPPED: {self.stopped}; run the same command again to resume")
        return out


Build = Callable[[int, dict[str, Any], datetime], dict[str, Any]]
"""Turns row number and row object into a message payload (without message_id) at issued_at;
raises RowError for a row it cannot address"""


def run(
    rows: Iterable[Row],
    build: Build,
    client_for: Callable[[], GatewayClient],
    receipts_path: Path,
    source_digest: str,
    *,
    workers: int = 4,
    progress: bool | None = None,
    catalog: Catalog | None = None,
    batch_size: int = BATCH_SIZE,
    gateway: tuple[str, list[str]] | None = None,
) -> Summary:
    """Send every row not receipted yet; append each outcome to the receipts file.

    Rows go in batches (``POST /v1/messages:batch``), ``workers`` batches at a
    time: a batch costs the gateway one transaction, where single messages
    cost one each. ``gateway``: its URL and signing key ids, kept in the
    receipts file and checked against it. Raises Conflict when the receipts
    file was written for another gateway.
    """
    all_rows = list(rows)
    receipts = ReceiptsFile(receipts_path, source_digest, datetime.now(UTC), gateway)
    bar = tqdm(total=len(all_rows), unit="row", disable=None if progress is None else not progress)
    sender = _Sender(client_for, receipts, bar, workers, batch_size)
    sender.summary.rows = len(all_rows)
    sender.summary.line_of = {row.number: row.line for row in all_rows if row.line}
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            sender.send_all(all_rows, build, catalog or load_catalog(), pool)
    finally:
        bar.close()
        receipts.close()
    return sender.summary


_Item = tuple[int, str, str]
"""A row on its way: its number, its signed token, its message id"""
_Outcome = dict[str, Any] | GatewayError
"""Per item: the receipt record, or the error that refused it"""


class _Sender:
    """Rows signed into batches, ``workers`` batches in flight, each outcome settled."""

    def __init__(
        self,
        client_for: Callable[[], GatewayClient],
        receipts: ReceiptsFile,
        bar: Any,
        workers: int,
        batch_size: int,
    ) -> None:
        self.client_for, self.receipts, self.bar = client_for, receipts, bar
        self.workers, self.batch_size = workers, batch_size
        self.summary = Summary()
        self.local = threading.local()
        self.pending: dict[Future[list[_Outcome]], list[_Item]] = {}
        self.batch: list[_Item] = []
        self.batch_bytes = 0

    def client(self) -> GatewayClient:
        """One client per thread (a requests session is not shared across threads)."""
        if not hasattr(self.local, "client"):
            self.local.client = self.client_for()
        result: GatewayClient = self.local.client
        return result

    def send_all(
        self, rows: list[Row], build: Build, catalog: Catalog, pool: ThreadPoolExecutor
    ) -> None:
        summary, receipts = self.summary, self.receipts
        for row in rows:
            if summary.stopped:
                break
            prepared = _prepare(row, build, receipts.issued_at, catalog)
            if isinstance(prepared, RowError):
                _fail(summary, receipts, row.number, None, prepared)
                self.bar.update(1)
                continue
            if receipts.done.get(row.number) == prepared["message_id"]:
                summary.outcomes["resumed"] += 1
                self.bar.update(1)
                continue
            token = self.client().sign(prepared)
            self.batch.append((row.number, token, prepared["message_id"]))
            self.batch_bytes += len(token) + 4
            if len(self.batch) >= self.batch_size or self.batch_bytes >= BATCH_BYTES:
                self.flush(pool)
        if not summary.stopped:
            self.flush(pool)
        self.settle(wait(self.pending).done)

    def send(self, batch: list[_Item]) -> list[_Outcome]:
        """One batch request; per item the receipt record, or the error that refused it."""
        outcomes = self.client().submit_batch([token for _, token, _ in batch])
        return [
            outcome
            if isinstance(outcome, GatewayError)
            else {
                "row": number,
                "message_id": message_id,
                "status": outcome.status,
                "receipt": outcome.token,
            }
            for (number, _, message_id), outcome in zip(batch, outcomes, strict=True)
        ]

    def flush(self, pool: ThreadPoolExecutor) -> None:
        if self.batch:
            self.pending[pool.submit(self.send, self.batch)] = self.batch
            self.batch, self.batch_bytes = [], 0
        if len(self.pending) >= self.workers * 2:
            self.settle(wait(self.pending, return_when=FIRST_COMPLETED).done)

    def settle(self, done: Iterable[Future[list[_Outcome]]]) -> None:
        for future in done:
            sent = self.pending.pop(future)
            try:
                outcomes = future.result()
            except GatewayError as error:  # the whole batch: none of it was taken
                outcomes = [error] * len(sent)
            for (number, _, message_id), outcome in zip(sent, outcomes, strict=True):
                self.settle_item(number, message_id, outcome)

    def settle_item(self, number: int, message_id: str, outcome: _Outcome) -> None:
        summary, receipts = self.summary, self.receipts
        if isinstance(outcome, FATAL):
            summary.stopped = summary.stopped or f"{outcome.code}: {outcome.detail}"
            return
        if isinstance(outcome, Conflict) and outcome.reason == "message-id-reused":
            # The id is derived from the row: the gateway holds this very row
            # already, sent by an earlier run whose receipt is not in this file.
            receipts.append(
                {"row": number, "message_id": message_id, "status": 409, "earlier": True}
            )
            summary.outcomes["sent-earlier"] += 1
        elif isinstance(outcome, GatewayError):
            _fail(summary, receipts, number, message_id, outcome)
        else:
            receipts.append(outcome)
            summary.outcomes["accepted" if outcome["status"] == 202 else "already-accepted"] += 1
        self.bar.update(1)


def send_file(
    client: GatewayClient,
    source: Path,
    rows: Iterable[Row],
    make_builder: Callable[[str, Municipalities], Build],
    *,
    receipts: Path | None = None,
    workers: int = 4,
    progress: bool | None = None,
) -> Summary:
    """Send the rows of ``source`` that have no receipt yet, as the client's party.

    The receipts file defaults to ``<SOURCE name>.receipts.jsonl`` in the
    current folder (not beside the export, which may be read-only or shared).
    Raises Conflict when that file was written for another gateway.
    """
    return run(
        rows,
        make_builder(client.oin, Municipalities.fetch(client)),
        client.clone,
        receipts or Path.cwd() / (source.name + ".receipts.jsonl"),
        file_digest(source),
        workers=workers,
        progress=progress,
        gateway=(client.base_url, sorted(client.gateway_keys())),
    )


def _prepare(
    row: Row, build: Build, issued_at: datetime, catalog: Catalog
) -> dict[str, Any] | RowError:
    """The row's payload, checked against the schemas before anything is sent."""
    if row.error is not None:
        return row.error
    assert row.data is not None
    try:
        payload = build(row.number, row.data, issued_at)
        payload = {"message_id": derived_message_id(payload), **payload}
        # The body first: a COA row's subject repeats its identity, named there.
        catalog.check_body(payload["type"], payload["version"], payload["body"])
        catalog.check_envelope(payload)
    except RowError as error:
        return error
    except SchemaViolation as violation:
        problems = schema_problems(violation)
        (field, rule), *more = problems or [("(row)", "does not fit the schema")]
        return RowError(row.number, field, rule, more)
    return payload


def schema_problems(violation: SchemaViolation) -> list[tuple[str, str]]:
    """Each (field, rule in words) of a schema violation, once; never a value."""
    found: dict[tuple[str, str], None] = {}
    for error in violation.errors:
        pointer = str(error.get("pointer", "")).removeprefix("/body")
        field = ".".join(p for p in pointer.split("/") if p) or "(row)"
        rule = str(error.get("rule") or f"fails the schema ({error.get('keyword', '')})")
        found[(field, rule)] = None
    return list(found)


def _fail(
    summary: Summary,
    receipts: ReceiptsFile,
    number: int,
    message_id: str | None,
    error: GatewayError,
) -> None:
    local = isinstance(error, RowError)
    failure: dict[str, Any] = {
        "row": number,
        "line": summary.line_of.get(number),
        "code": error.code,
        "detail": error.reason if isinstance(error, RowError) else error.detail,
    }
    if isinstance(error, RowError):
        failure["field"] = error.field
        failure["problems"] = error.problems
    elif isinstance(error, SchemaViolation):
        failure["field"] = ", ".join(e["pointer"] for e in error.errors[:5])
        failure["problems"] = schema_problems(error)
    summary.failures.append(failure)
    summary.outcomes["bad-row" if local else "refused"] += 1
    receipts.append({**failure, "message_id": message_id, "error": True})
