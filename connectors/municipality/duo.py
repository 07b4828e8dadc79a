"""Ready for DUO: the request bodies of DUO's M2M API for gemeenten, from the gateway.

A municipality must report each newcomer's plan (PIP, Wi2021 art. 15) and
the hours followed to DUO. The gateway already holds both, so this writes,
per newcomer placed with the caller who has a BSN, the request of each
operation as a file: DUO's field names and codes, with the ``berichtId``,
``bron`` and ``doel`` header values beside the body, and a manifest of the
run. Sending them over Digikoppeling is the municipality's own connection.

The field names, types and ranges are DUO's published OpenAPI documents
(github.com/duonl/gemeente-m2m-inburgering, ``API/PIP/openapi.yml`` version
1.2.0 and ``API/GevolgdeUren/openapi.yml`` version 1.0.0); the tests hold
every body written here against schemas copied from them. DUO's rules for
combining route, level and hours are the ones the gateway enforces on every
plan (``gateway.client.plans.check_combination``): they are checked again
here, so a body DUO would refuse is never written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.durable import write_durably
from connectors.municipality.messages import placed_newcomers
from gateway.client import plans, wire
from gateway.errors import BadRequest, GatewayError

PIP_API = "PIP 1.2.0"
HOURS_API = "GevolgdeUren 1.0.0"
LEERROUTE = {"b1-route": "B", "onderwijsroute": "O", "z-route": "Z"}
"""our route → DUO's Leerroute code"""


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    """with ``{bsn}``"""
    api: str
    name: str
    """the file's name after the BSN: what it is"""


PIP = Operation("postPipByBsn", "POST", "/personen/{bsn}/PIP", PIP_API, "pip")
HOURS = {
    # taalles Nederlands en KNM bij een cursusinstelling, in the leerroute
    "language_and_knm": Operation(
        "updateUrenParticipatieAlsTaallesByBsn", "PUT", "/personen/{bsn}/uren/participatietaalles",
        HOURS_API, "uren-participatietaalles",
    ),
    # participatieactiviteiten for the Z-route
    "participation": Operation(
        "updateUrenParticipatieactiviteiten", "PUT",
        "/personen/{bsn}/uren/participatieactiviteiten", HOURS_API, "uren-participatieactiviteiten",
    ),
    # taalles en KNM during the brede intake
    "broad_intake": Operation(
        "updateUrenTaallesEnKnmByBSN", "PUT", "/personen/{bsn}/uren/bredeintake/taallesknm",
        HOURS_API, "uren-bredeintake-taallesknm",
    ),
}  # fmt: skip
"""our kind of hours → the GevolgdeUren operation that takes its total"""

_OIN = re.compile(r"[0-9]{20}")
_BSN = re.compile(r"[0-9]{9}")


def pip_body(plan: Mapping[str, Any]) -> dict[str, Any]:
    """DUO's PIP request body of one plan version (our members, DUO's names and codes).

    Raises SchemaViolation when route, level and hours do not combine as DUO's
    rules allow (the gateway refuses such a plan, so a stored one always does).
    """
    plans.check_combination(plan, first_plan=False)
    body: dict[str, Any] = {
        "dagtekeningPip": plan["dated"],
        "leerroute": LEERROUTE[plan["route"]],
    }
    optional = {
        "level": "niveau",
        "estimated_hours_b1": "geschatteIntensiteitB1Route",
        "may_finish_current_education": "indicatorMagOpleidingAfmaken",
        "literacy": "indicatorAlfabetiseringsonderwijs",
    }
    body.update({duo: plan[ours] for ours, duo in optional.items() if ours in plan})
    return body


def hours_bodies(
    hours: Mapping[str, Mapping[str, Any]],
) -> Iterator[tuple[Operation, dict[str, Any]]]:
    """Each GevolgdeUren operation with its body: the total of that kind of hours."""
    for kind, operation in HOURS.items():
        if kind in hours:
            yield operation, {"uren": int(hours[kind]["total"])}


def request(
    operation: Operation,
    bsn: str,
    body: Mapping[str, Any],
    bron: str,
    doel: str,
    bericht_id: str | None = None,
) -> dict[str, Any]:
    """One request as a file holds it: operation, path, the header values and the body.

    ``bericht_id``: derived from what the request says (``bericht_id_for``), so the
    same request made again is the same message; a new UUID without it.
    """
    return {
        "api": operation.api,
        "operationId": operation.operation_id,
        "method": operation.method,
        "path": operation.path.format(bsn=bsn),
        "headers": {"berichtId": bericht_id or str(uuid.uuid4()), "bron": bron, "doel": doel},
        "body": dict(body),
    }


def bericht_id_for(secret: bytes, operation: Operation, bsn: str, body: Mapping[str, Any],
                   bron: str, doel: str) -> str:  # fmt: skip
    """The berichtId of a request: keyed by a secret of the municipality's own (its private
    key's), so the same request exported twice is the same message to DUO and nobody
    without the key can test BSNs against the ids."""
    said = json.dumps([operation.operation_id, bsn, body, bron, doel], sort_keys=True)
    mac = hmac.new(secret, said.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


def secret_of(key: wire.Key) -> bytes:
    """The municipality's own secret for DUO's requests, derived from its private key: the
    berichtIds (``bericht_id_for``) and duo-send's state are keyed with it, reproducible by
    that municipality alone."""
    jwk = json.dumps(wire.private_jwk(key), sort_keys=True).encode()
    return hashlib.sha256(b"inburgering-duo-berichtid\0" + jwk).digest()


@dataclass
class Export:
    """What one run wrote and what it left out, with why: the manifest."""

    bron: str
    doel: str
    created_at: str
    exported: list[dict[str, Any]] = field(default_factory=list)
    without_bsn: list[str] = field(default_factory=list)
    nothing_to_report: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    secret: bytes = field(default=b"", repr=False)
    """the key the berichtIds are derived with (never written)"""

    def manifest(self) -> dict[str, Any]:
        return {
            "source": "github.com/duonl/gemeente-m2m-inburgering: API/PIP, API/GevolgdeUren",
            "apis": [PIP_API, HOURS_API],
            "bron": self.bron,
            "doel": self.doel,
            "created_at": self.created_at,
            "exported": self.exported,
            "without_bsn": self.without_bsn,
            "nothing_to_report": self.nothing_to_report,
            "refused": self.refused,
        }


def export(client: GatewayClient, out: Path, doel: str, now: datetime | None = None) -> Export:
    """Write the requests for every newcomer placed with the caller into ``out``.

    ``out`` must be new, empty, or hold an earlier export (its manifest.json): each
    request's ``berichtId`` is derived from what it says, so a request unchanged since
    is written again byte for byte (the same message to DUO, never a second one), a
    changed one is a new message, and the manifest says what this run wrote. Each
    newcomer's
    plan and hours come from the gateway's progress read (one audited
    ``regie.read`` each); newcomers without a BSN are listed in the
    manifest, not exported. The manifest is written last.
    Raises BadRequest for a ``doel`` that is not an OIN or an ``out`` in use.
    """
    if not _OIN.fullmatch(doel):
        raise BadRequest("doel (DUO's OIN) must be 20 digits")
    if out.exists() and (not out.is_dir() or _foreign(out)):
        raise BadRequest(f"{out} holds other files than an export: give a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    done = Export(client.oin, doel, (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    done.secret = secret_of(client.key)
    for newcomer in placed_newcomers(client):
        bsn, v_number = newcomer.get("bsn"), newcomer["v_number"]
        if bsn is None or not _BSN.fullmatch(bsn):
            done.without_bsn.append(v_number)
            continue
        progress = client.get_json(f"/v1/newcomers/{v_number}/progress")
        files = _write_requests(out, bsn, progress, done)
        if files:
            done.exported.append({"bsn": bsn, "v_number": v_number, "files": files})
        elif not any(r["v_number"] == v_number for r in done.refused):
            done.nothing_to_report.append(v_number)
    manifest = json.dumps(done.manifest(), indent=2, ensure_ascii=False).encode()
    write_durably(out / "manifest.json", manifest)
    written = {name for e in done.exported for name in e["files"]} | {"manifest.json"}
    for stale in out.iterdir():  # an earlier run's request this run did not make again
        if stale.name not in written:
            stale.unlink()
    return done


def _foreign(out: Path) -> bool:
    """Whether a folder holds anything but an earlier export's files (JSON, with a manifest)."""
    names = [p.name for p in out.iterdir()]
    if not names:
        return False
    return "manifest.json" not in names or any(not n.endswith(".json") for n in names)


def _write_requests(out: Path, bsn: str, progress: Mapping[str, Any], done: Export) -> list[str]:
    wanted: list[tuple[Operation, dict[str, Any]]] = []
    if progress.get("plan"):
        try:
            wanted.append((PIP, pip_body(progress["plan"])))
        except GatewayError as refused:
            done.refused.append({"v_number": progress["subject"]["v_number"],
                                 "why": refused.detail})  # fmt: skip
    wanted += list(hours_bodies(progress.get("hours", {})))
    files = []
    for operation, body in wanted:
        name = f"{bsn}.{operation.name}.json"
        bericht = bericht_id_for(done.secret, operation, bsn, body, done.bron, done.doel)
        document = request(operation, bsn, body, done.bron, done.doel, bericht)
        write_durably(out / name, json.dumps(document, indent=2, ensure_ascii=False).encode())
        files.append(name)
    return files
