"""A municipality's connector: pull the inbox into the case system, record consent.

Pulling is at least once, and the case system sees each delivery once: a
delivery is written under its own id (``<delivery_id>.json``, atomically,
fsynced) or posted to the case system's local webhook, and acknowledged
only after that. A puller killed between write and ack gets the delivery
again, finds the file there, and only acknowledges. Every delivery token is
verified against the gateway's published key, and must sign exactly the
delivery it came with, before anything is written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from connectors.client import GatewayClient, Submission, TransportError
from gateway.domain.schemas import Catalog, load_catalog
from gateway.domain.wire import envelope
from gateway.errors import GatewayError, InvalidSignature

DELIVERY_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


class CaseSystemError(GatewayError):
    """The municipality's own side (folder or webhook) did not take a delivery."""

    code = "case-system"
    title = "Case system did not take the delivery"


@dataclass
class PullResult:
    written: int = 0
    already_there: int = 0
    acknowledged: int = 0
    notices: int = 0
    """withdrawal notices, each acted on in the folder"""
    again: int = 0
    """messages handed out again after a consent (``supersedes``), written over the earlier"""
    withheld: dict[str, int] = field(default_factory=dict)
    """category → how many deliveries had it withheld"""


Sink = Callable[[dict[str, Any]], bool]
"""Takes a verified delivery durably; True if new, False if it was there already"""


NOTICE = "consent-withdrawn"


def delivery_file(delivery: dict[str, Any]) -> str:
    """A municipality's delivery file: ``<delivery_id>.json`` (a notice names those)."""
    return f"{_safe_id(delivery['delivery_id'])}.json"


def brief_file(delivery: dict[str, Any]) -> str:
    """A provider's brief file, readable: ``brief-<v_number>-plan-v<n>-<id prefix>.json``."""
    v_number = str(delivery.get("subject", {}).get("v_number", ""))
    version = delivery.get("body", {}).get("plan_version")
    if not (v_number.isdigit() and len(v_number) == 10 and isinstance(version, int)):
        raise TransportError("a brief without a V-nummer or plan version")
    return f"brief-{v_number}-plan-v{version}-{_safe_id(delivery['delivery_id'])[:8]}.json"


def folder_sink(out: Path, names: Callable[[dict[str, Any]], str] = delivery_file) -> Sink:
    """Each delivery as a file of its own (``names``); a withdrawal notice acted on.

    A notice is written too, after every delivery file it names has been
    rewritten (so a crash in between redoes the rewrites). A message handed out
    again after a consent given later (``supersedes``, profile v1.2) is written
    over each earlier delivery's file too, so the case system that read those
    finds the newer copy where it looked (``superseded_by`` names the new file);
    the new file is written last, for the same reason.
    """
    out.mkdir(parents=True, exist_ok=True)

    def take(delivery: dict[str, Any]) -> bool:
        target = out / names(delivery)
        if target.exists():
            return False
        if delivery.get("type") == NOTICE:
            for affected in delivery.get("affected_deliveries", []):
                withdraw_from_file(out / f"{_safe_id(affected)}.json", delivery, target.name)
        content = json.dumps(delivery, indent=2, ensure_ascii=False)
        for earlier in delivery.get("supersedes", []):
            over = {**delivery, "superseded_by": target.name}
            write_durably(out / f"{_safe_id(earlier)}.json",
                          json.dumps(over, indent=2, ensure_ascii=False).encode())  # fmt: skip
        write_durably(target, content.encode())
        return True

    return take


def withdraw_from_file(path: Path, notice: dict[str, Any], notice_file: str) -> None:
    """Rewrite a kept delivery without what a withdrawal took back.

    The body loses the members of the withdrawn categories, and the delivery
    token goes too, because its payload holds them; the token's SHA-256 and
    the name of the signed notice stay beside what is left. Together they
    prove what was received and why part of it was removed. Again on a file
    already rewritten changes nothing. A file not in this folder (taken by
    another puller, or removed by the case system) is left to its keeper.
    """
    if not path.exists():
        return
    kept = without_withdrawn(json.loads(path.read_text(encoding="utf-8")), notice, notice_file)
    write_durably(path, json.dumps(kept, indent=2, ensure_ascii=False).encode())


def without_withdrawn(kept: dict[str, Any], notice: dict[str, Any], by: str) -> dict[str, Any]:
    """A kept delivery without the categories a withdrawal notice took back (see
    ``withdraw_from_file``); ``by`` names the notice beside what is left. Idempotent."""
    kept = dict(kept)
    categories = set(notice["categories"])
    members = _categories(kept.get("type"), kept.get("version"))
    body = {k: v for k, v in kept.get("body", {}).items() if members.get(k) not in categories}
    token = kept.pop("delivery_token", None)
    if token is not None:
        kept["delivery_token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
    withdrawn = list(kept.get("withdrawn", []))
    record = {
        "notice": by,
        "declaration_id": notice["declaration_id"],
        "withdrawn_at": notice.get("withdrawn_at"),
        "categories": sorted(categories),
    }
    if record not in withdrawn:
        withdrawn.append(record)
    kept["withdrawn"] = withdrawn
    kept["body"] = body
    return kept


def _categories(type_: object, version: object) -> dict[str, str]:
    """Body member → category, by the message type's schema."""
    key = (str(type_), version if isinstance(version, int) else 0)
    schema = _catalog().bodies.get(key)
    return dict(schema.categories) if schema else {}


@functools.cache
def _catalog() -> Catalog:
    return load_catalog()


def webhook_sink(url: str, timeout: float = 10.0) -> Sink:
    """POST each delivery to the case system; 2xx means it is kept.

    The case system gets the delivery id as ``Idempotency-Key``: a delivery
    posted again after a lost ack must not create a second case entry.
    """
    session = requests.Session()

    def take(delivery: dict[str, Any]) -> bool:
        try:
            response = session.post(
                url,
                data=json.dumps(delivery).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": delivery["delivery_id"],
                },
                timeout=timeout,
            )
        except requests.RequestException:
            raise CaseSystemError("webhook unreachable") from None
        if not 200 <= response.status_code < 300:
            raise CaseSystemError(f"webhook answered {response.status_code}")
        return True

    return take


def write_durably(target: Path, data: bytes) -> None:
    """Write-then-rename with fsync of file and folder: all of it or nothing, after a crash."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _safe_id(delivery_id: object) -> str:
    """A delivery id fit to be a file name; anything else is the gateway misbehaving."""
    if (
        not isinstance(delivery_id, str)
        or not 0 < len(delivery_id) <= 100
        or not set(delivery_id) <= DELIVERY_ID_CHARS
    ):
        raise TransportError("delivery id is not a plain identifier")
    return delivery_id


def verified(client: GatewayClient, delivery: dict[str, Any]) -> dict[str, Any]:
    """The delivery, once its token is the gateway's signature over exactly its members.

    Raises InvalidSignature otherwise.
    """
    token = delivery.get("delivery_token")
    if not isinstance(token, str):
        raise InvalidSignature("delivery without a delivery token")
    signed = client.verify_gateway_token(token, envelope.DELIVERY_TYP)
    members = {k: v for k, v in delivery.items() if k != "delivery_token"}
    if signed != members:
        raise InvalidSignature("delivery token does not sign this delivery")
    return delivery


def pull_once(client: GatewayClient, sink: Sink, *, limit: int = 100, lease: int = 0) -> PullResult:
    """Take every unacknowledged delivery now in the inbox, page by page.

    With ``lease`` (seconds) each page is leased to this puller, so several
    pullers of one municipality can run side by side without taking one
    delivery twice; one that dies gets its page back after the lease.
    """
    result = PullResult()
    after = 0
    while True:
        params = {"after": after, "limit": limit, **({"lease": lease} if lease else {})}
        page = client.get_json("/v1/inbox", **params)
        deliveries = page.get("deliveries")
        if not isinstance(deliveries, list):
            raise TransportError("inbox response without deliveries")
        for delivery in deliveries:
            if sink(verified(client, delivery)):
                result.written += 1
            else:
                result.already_there += 1
            client.ack(_safe_id(delivery["delivery_id"]))
            result.acknowledged += 1
            result.notices += delivery.get("type") == NOTICE
            result.again += bool(delivery.get("supersedes"))
            for category in delivery.get("withheld_categories", []):
                result.withheld[category] = result.withheld.get(category, 0) + 1
        if not deliveries:
            return result
        after = page["next_cursor"]


def follow(
    client: GatewayClient,
    sink: Sink,
    *,
    interval: float,
    rounds: int | None = None,
    report: Callable[[PullResult], None] = lambda _: None,
    unreachable: Callable[[str], None] = lambda _: None,
    lease: int = 0,
) -> None:
    """Pull every ``interval`` seconds (``rounds`` times, or until stopped).

    A gateway that is away for a while is waited for, not given up on: the
    next round tries again. Errors of the case system or a bad signature stop.
    """
    done = 0
    while rounds is None or done < rounds:
        try:
            report(pull_once(client, sink, lease=lease))
        except TransportError as error:
            unreachable(error.detail)  # gateway away; try again next round
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)


# -- recording consent and assignments ---------------------------------------------


def utc(moment: datetime) -> str:
    """RFC 3339 UTC to the second, as messages carry times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(
    client: GatewayClient, type_: str, subject: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "sender": client.oin,
        "recipient": client.oin,
        "subject": subject,
        "issued_at": utc(datetime.now(UTC)),
        "body": body,
    }


def subject_of(v_number: str, bsn: str | None) -> dict[str, str]:
    return {"v_number": v_number, **({"bsn": bsn} if bsn else {})}


def declare(
    client: GatewayClient, declaration: dict[str, Any], subject: dict[str, str], form: Path
) -> tuple[str, Submission]:
    """Record a consent declaration; ``form`` is the scan of the form the newcomer signed.

    The scan stays with the municipality: only its SHA-256 goes into the
    declaration, so that the record and the paper can be matched later.
    """
    body = {
        "declaration_id": str(uuid.uuid4()),
        "granted_to": client.oin,
        **declaration,
        "evidence_sha256": hashlib.sha256(form.read_bytes()).hexdigest(),
    }
    payload = _message(client, "consent-declaration", subject, body)
    return body["declaration_id"], client.submit(client.sign(payload))


def withdraw(
    client: GatewayClient,
    declaration_id: str,
    subject: dict[str, str],
    *,
    at: datetime | None = None,
    by: str = "data-subject",
) -> Submission:
    body = {
        "declaration_id": declaration_id,
        "withdrawn_at": utc(at or datetime.now(UTC)),
        "by": by,
    }
    return client.submit(client.sign(_message(client, "consent-withdrawal", subject, body)))


def assign(
    client: GatewayClient,
    provider: str,
    subject: dict[str, str],
    *,
    route: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
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
    payload = _message(client, "provider-assignment", subject, body)
    return body["assignment_id"], client.submit(client.sign(payload))


def send_plan(
    client: GatewayClient, plan: dict[str, Any], subject: dict[str, str]
) -> tuple[str, Submission]:
    """Send a plan version; a plan without ``plan_id`` is a new plan (version 1)."""
    body = {"plan_id": str(uuid.uuid4()), "plan_version": 1, **plan}
    payload = _message(client, "integration-plan", subject, body)
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
