"""GET /v1/audit/witnessed: the newest checkpoint its witnesses cosigned, with their lines.

A client that requires a quorum of witnesses (the auditor's verifier, a
municipality's tool) reads this checkpoint rather than the newest one: the
newest is signed by the gateway alone until the witnesses have seen it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from gateway.domain.audit.events import format_time
from gateway.domain.audit.notes import cosigned_at, parse_note
from gateway.service import auditing
from gateway.web import apidoc, examples, http
from gateway.web.readings import Witnessed

blp = Blueprint("witnesses", __name__, url_prefix="/v1/audit", description="Witnesses")


@blp.route("/witnessed", methods=["GET"])
@blp.doc(
    summary="The newest checkpoint cosigned by the quorum of the log's witnesses; "
    "Accept: text/plain gives the C2SP signed note with their cosignature lines",
    description="Every registered party. The note carries the gateway's signature and one "
    "cosignature line per witness that cosigned it (C2SP tlog-cosignature); a client checks "
    "its own quorum of the witness keys it trusts. 404 while no checkpoint has the "
    "gateway's quorum (GATEWAY_WITNESS_QUORUM) of cosignatures, or without witnesses. "
    "Audited as `audit.read`.",
)
@apidoc.operation(
    blp, "getWitnessedCheckpoint", ok=200, schema=Witnessed,
    description="The newest witnessed checkpoint", example=examples.WITNESSED,
    problem_codes={401: "unauthenticated", 403: "not-authorised (role)",
                   404: "not-found (none cosigned yet)", 503: "unavailable"},
)  # fmt: skip
@blp.doc(responses={"200": {"content": {"text/plain": {
    "schema": {"type": "string"}, "example": examples.WITNESSED["note"]}}}})  # fmt: skip
def witnessed() -> Any:
    point, lines = auditing.witnessed(http.services(), http.caller(), http.now(),
                                      http.trace_id())  # fmt: skip
    note = point.note + "".join(lines[name] for name in sorted(lines))
    if request.accept_mimetypes.best_match(["application/json", "text/plain"]) == "text/plain":
        return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    stamps = {name: blob for name, blob in parse_note(note).signatures}
    return {
        "seq": point.seq,
        "tree_size": point.tree_size,
        "checkpoint": point.jws,
        "note": note,
        "witnesses": [
            {"name": name, "cosigned_at": format_time(cosigned_at(stamps[name]))}
            for name in sorted(lines)
        ],
    }

