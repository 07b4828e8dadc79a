"""Where a pulled delivery is kept: a folder of files, or the case system's webhook.

The case system sees each delivery once: a delivery is written under its
own name (``<delivery_id>.json``, atomically, fsynced) or posted to the
case system's local webhook with its id as ``Idempotency-Key``, and the
pager (``inbox``) acknowledges it only after that. A withdrawal notice is
acted on in the folder, and a message handed out again after a later
consent is written over the files of the deliveries it replaces.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from connectors.common.client import TransportError
from connectors.common.coasigned import cut_to
from connectors.common.durable import write_durably
from connectors.common.inbox import NOTICE, Sink, safe_id
from gateway.client.schemas import Catalog, load_catalog
from gateway.errors import GatewayError


class CaseSystemError(GatewayError):
    """The municipality's own side (folder or webhook) did not take a delivery."""

    code = "case-system"
    title = "Case system did not take the delivery"


def delivery_file(delivery: dict[str, Any]) -> str:
    """A municipality's delivery file: ``<delivery_id>.json`` (a notice names those)."""
    return f"{safe_id(delivery['delivery_id'])}.json"


def brief_file(delivery: dict[str, Any]) -> str:
    """A provider's brief file, readable: ``brief-<v_number>-plan-v<n>-<id prefix>.json``."""
    v_number = str(delivery.get("subject", {}).get("v_number", ""))
    version = delivery.get("body", {}).get("plan_version")
    if not (v_number.isdigit() and len(v_number) == 10 and isinstance(version, int)):
        raise TransportError("a brief without a V-nummer or plan version")
    return f"brief-{v_number}-plan-v{version}-{safe_id(delivery['delivery_id'])[:8]}.json"


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
                withdraw_from_file(out / f"{safe_id(affected)}.json", delivery, target.name)
        content = json.dumps(delivery, indent=2, ensure_ascii=False)
        for earlier in delivery.get("supersedes", []):
            over = {**delivery, "superseded_by": target.name}
            write_durably(out / f"{safe_id(earlier)}.json",
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
    ``withdraw_from_file``); ``by`` names the notice beside what is left. Idempotent.

    A version-2 profile's ``sd_jwt`` loses those categories' disclosures too: what is left
    is still COA's signature over what is left (``coasigned.cut_to``)."""
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
    if isinstance(kept.get("sd_jwt"), str):
        kept["sd_jwt"] = cut_to(kept["sd_jwt"], body)
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
