"""What a municipality sends and reads at the gateway: consent, withdrawal, assignment,
plan version, and the newcomers placed with it.

Each message is built and signed here and submitted once; ``actions`` wraps
them in the party's receipts so that a command run again sends nothing new.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.common.client import GatewayClient, Submission


def utc(moment: datetime) -> str:
    """RFC 3339 UTC to the second, as messages carry times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(
    client: GatewayClient,
    type_: str,
    subject: dict[str, str],
    body: dict[str, Any],
    staff: str | None = None,
) -> dict[str, Any]:
    """The envelope; ``staff``: the sender's own pseudonym of the person who did it (the
    console's signed-in user), never a name."""
    return {
        "message_id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "sender": client.oin,
        "recipient": client.oin,
        "subject": subject,
        "issued_at": utc(datetime.now(UTC)),
        **({"staff": staff} if staff else {}),
        "body": body,
    }


def subject_of(v_number: str, bsn: str | None) -> dict[str, str]:
    return {"v_number": v_number, **({"bsn": bsn} if bsn else {})}


def declare(
    client: GatewayClient,
    declaration: dict[str, Any],
    subject: dict[str, str],
    form: Path,
    *,
    staff: str | None = None,
    declaration_id: str | None = None,
) -> tuple[str, Submission]:
    """Record a consent declaration; ``form`` is the scan of the form the newcomer signed.

    The scan stays with the municipality: only its SHA-256 goes into the
    declaration, so that the record and the paper can be matched later.
    ``declaration_id``: a new one by default; a caller that may send the same form again
    (a form resubmitted in a browser) gives one derived from it (``same_form_id``), so the
    gateway refuses the repeat instead of recording a second consent.
    """
    body = {
        "declaration_id": declaration_id or str(uuid.uuid4()),
        "granted_to": client.oin,
        **declaration,
        "evidence_sha256": hashlib.sha256(form.read_bytes()).hexdigest(),
    }
    payload = _message(client, "consent-declaration", subject, body, staff)
    return body["declaration_id"], client.submit(client.sign(payload))


def same_form_id(oin: str, subject: dict[str, str], declaration: dict[str, Any],
                 evidence: bytes) -> str:
    """A declaration id that is the same for the same signed form sent again: the scan's
    digest, the newcomer and what the form says, not when it was sent (``valid_from`` and
    ``valid_until`` move with the clock). A renewed consent is a new signed form."""
    stable = {k: v for k, v in declaration.items() if k not in ("valid_from", "valid_until")}
    said = json.dumps([oin, subject.get("v_number"), stable, hashlib.sha256(evidence).hexdigest()],
                      sort_keys=True)  # fmt: skip
    return str(uuid.uuid5(_FORMS, said))


_FORMS = uuid.UUID("5b0d2c1e-7f4a-4c4e-9a61-3d2f0c6b8e15")
"""the namespace of ``same_form_id`` (a constant: the same form, the same id, everywhere)"""


def withdraw(
    client: GatewayClient,
    declaration_id: str,
    subject: dict[str, str],
    *,
    at: datetime | None = None,
    by: str = "data-subject",
    staff: str | None = None,
) -> Submission:
    body = {
        "declaration_id": declaration_id,
        "withdrawn_at": utc(at or datetime.now(UTC)),
        "by": by,
    }
    payload = _message(client, "consent-withdrawal", subject, body, staff)
    return client.submit(client.sign(payload))


def assign(
    client: GatewayClient,
    provider: str,
    subject: dict[str, str],
    *,
    route: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    staff: str | None = None,
) -> tuple[str, Submission]:
    body: dict[str, Any] = {
        "assignment_id": str(uuid.uuid4()),
        "provider": provider,
        "route": route,
        "valid_from": utc(valid_from),
        "status": "active",
    }
    if valid_until is not None:
        body["valid_until"] = utc(valid_until)
    payload = _message(client, "provider-assignment", subject, body, staff)
    return body["assignment_id"], client.submit(client.sign(payload))


def send_plan(
    client: GatewayClient,
    plan: dict[str, Any],
    subject: dict[str, str],
    *,
    staff: str | None = None,
) -> tuple[str, Submission]:
    """Send a plan version; a plan without ``plan_id`` is a new plan (version 1)."""
    body = {"plan_id": str(uuid.uuid4()), "plan_version": 1, **plan}
    payload = _message(client, "integration-plan", subject, body, staff)
    return str(body["plan_id"]), client.submit(client.sign(payload))


def placed_newcomers(client: GatewayClient, **query: str) -> Iterator[dict[str, Any]]:
    """Every newcomer placed with the caller, with their signals, a page of 1,000 at a time
    (``GET /v1/signals``; ``query``: ``at`` for a forecast). Each one is a regie.read."""
    after, limit = 0, 1000
    while True:
        page = client.get_json("/v1/signals", after=after, limit=limit, **query)
        yield from page["newcomers"]
        if len(page["newcomers"]) < limit:
            return
        after = page["next_cursor"]
