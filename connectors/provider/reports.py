"""A provider's connector: progress reports from an export, or one from a JSON file.

Rows carry the progress report's sections, plus ``subject`` (the newcomer)
and ``recipient`` (the municipality that assigned the newcomer to this
provider, by OIN or CBS code). ``enrolment.provider`` defaults to the
provider's own OIN, which is what the gateway requires it to be.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.common import exportfile, submission
from connectors.common.addressing import Municipalities
from connectors.common.client import GatewayClient
from connectors.common.exportfile import RESERVED, Row, RowError
from gateway.client import wire
from gateway.errors import GatewayError

TYPE = "progress-report"


def builder(sender: str, municipalities: Municipalities) -> submission.Build:
    def build(number: int, row: dict[str, Any], issued_at: datetime) -> dict[str, Any]:
        body = {k: v for k, v in row.items() if k not in RESERVED}
        enrolment = body.get("enrolment")
        if isinstance(enrolment, dict) and "provider" not in enrolment:
            body["enrolment"] = {**enrolment, "provider": sender}
        subject = row.get("subject")
        if not isinstance(subject, dict) or "v_number" not in subject:
            raise RowError(number, "subject.v_number", "missing")
        if "recipient" not in row:
            raise RowError(number, "recipient", "missing (the assigning municipality)")
        return {
            "type": TYPE,
            "version": 1,
            "sender": sender,
            "recipient": municipalities.oin(number, "recipient", row["recipient"]),
            "subject": subject,
            "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": body,
        }

    return build


def rows_of(source: Path) -> list[Row]:
    """An export (.csv, .jsonl) or a single report (.json) as rows."""
    if source.suffix.lower() == ".json":
        try:
            return [Row(1, wire.loads_object(source.read_bytes()))]
        except GatewayError:
            return [Row(1, None, RowError(1, "(file)", "not a strict JSON object"))]
    return list(exportfile.read_rows(source, exportfile.body_schema(TYPE)))


def send_reports(
    client: GatewayClient,
    source: Path,
    *,
    receipts: Path | None = None,
    workers: int = 4,
    progress: bool | None = None,
) -> submission.Summary:
    """Send every report of the file that has no receipt yet."""
    return submission.send_file(
        client,
        source,
        rows_of(source),
        builder,
        receipts=receipts,
        workers=workers,
        progress=progress,
    )
