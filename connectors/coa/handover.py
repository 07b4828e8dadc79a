"""COA's connector: the blue-folder export, row by row, as handover profiles.

The export format (CSV or JSON Lines; see ``connectors/common/exportfile.py`` and
docs/guides/coa.md) carries the handover profile's sections per newcomer. The
subject is taken from ``identity`` (``v_number``, ``bsn``) unless the row
names one, and the recipient from ``placement.municipality_code`` unless the
row names one, through the gateway's directory. COA's own column
``koppelingsdatum`` (the day a newcomer was linked to the municipality) is
read as ``placement.linked_on``, in CSV and in JSON Lines alike.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.common import exportfile, submission
from connectors.common.addressing import Municipalities
from connectors.common.client import GatewayClient
from connectors.common.exportfile import RESERVED, SUBJECT_FIELDS, RowError

TYPE = "handover-profile"
LINKED_ON = "koppelingsdatum"
ALIASES = {LINKED_ON: "placement.linked_on"}
"""CSV column names of COA's own system → the profile's dotted paths"""


def builder(sender: str, municipalities: Municipalities, version: int = 1) -> submission.Build:
    """Rows into handover profiles of ``version``: 1, a JWS; 2, COA's SD-JWT (the client
    signs a version 2 so, ``GatewayClient.sign``). The body is the same in both."""

    def build(number: int, row: dict[str, Any], issued_at: datetime) -> dict[str, Any]:
        body = _linked_on(number, {k: v for k, v in row.items() if k not in RESERVED})
        identity = body.get("identity")
        identity = identity if isinstance(identity, dict) else {}
        subject = row.get("subject") or {k: identity[k] for k in SUBJECT_FIELDS if k in identity}
        if not isinstance(subject, dict) or "v_number" not in subject:
            raise RowError(number, "identity.v_number", "missing")
        placement = body.get("placement")
        code = placement.get("municipality_code") if isinstance(placement, dict) else None
        if "recipient" in row:
            recipient = municipalities.oin(number, "recipient", row["recipient"])
        else:
            recipient = municipalities.oin(number, "placement.municipality_code", code)
        return {
            "type": TYPE,
            "version": version,
            "sender": sender,
            "recipient": recipient,
            "subject": subject,
            "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": body,
        }

    return build


def _linked_on(number: int, body: dict[str, Any]) -> dict[str, Any]:
    """A JSON Lines row's top-level ``koppelingsdatum`` moved to ``placement.linked_on``."""
    if LINKED_ON not in body:
        return body
    value = body.pop(LINKED_ON)
    placement = body.get("placement")
    if not isinstance(placement, dict):
        return body  # the schema names the missing placement
    if "linked_on" in placement and placement["linked_on"] != value:
        raise RowError(number, LINKED_ON, "differs from placement.linked_on; give one of them")
    body["placement"] = {**placement, "linked_on": value}
    return body


def send_export(
    client: GatewayClient,
    source: Path,
    *,
    receipts: Path | None = None,
    workers: int = 4,
    progress: bool | None = None,
    version: int = 1,
) -> submission.Summary:
    """Send every row of a COA export that has no receipt yet, as handover profiles of
    ``version`` (2: COA's SD-JWT; a row's message id differs from its version 1's)."""
    rows = exportfile.read_rows(source, exportfile.body_schema(TYPE, version), ALIASES)

    def make(sender: str, municipalities: Municipalities) -> submission.Build:
        return builder(sender, municipalities, version)

    return submission.send_file(
        client, source, rows, make, receipts=receipts, workers=workers, progress=progress
    )
