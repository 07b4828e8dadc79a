"""GET /v1/consents: a municipality's consent records for one of its newcomers."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway.domain.audit.events import format_time
from gateway.domain.records import History
from gateway.service import consents as service
from gateway.web import apidoc, examples, http
from gateway.web.readings import Consents

blp = Blueprint("consents", __name__, url_prefix="/v1", description="Consent records")


@blp.route("/consents", methods=["GET"])
@blp.doc(
    summary="Declarations and withdrawals recorded for `v_number` with the calling "
    "municipality, newest first",
    description="Municipality role. Only the records of the calling municipality: "
    "another's are not shown (an empty list, not an error). `explained_in_language` and "
    "`interpreter_used` are null on records made before 0.7.0.",
)
@apidoc.operation(
    blp, "listConsents", ok=200, schema=Consents, description="The records, newest first",
    example=examples.CONSENTS,
    parameters=[apidoc.query("v_number", apidoc.V_NUMBER, "the newcomer's V-nummer",
                             required=True)],
    problem_codes={400: "bad-request", 401: "unauthenticated", 403: "not-authorised"},
)  # fmt: skip
def consents() -> Any:
    party = http.caller()
    found = service.history(http.services(), party, http.request_arg("v_number"))
    return {"consents": records(found)}


def records(history: History) -> list[dict[str, Any]]:
    """The history as the contract's records, newest first."""
    found: list[dict[str, Any]] = [
        {
            "kind": "declaration",
            "declaration_id": r.fact.declaration_id,
            "message_id": r.message_id,
            "recorded_by": r.recorded_by,
            "sources": sorted(r.fact.sources),
            "categories": sorted(r.fact.categories),
            "purposes": sorted(r.fact.purposes),
            "explicit_health_consent": r.fact.explicit_health_consent,
            "valid_from": format_time(r.fact.valid_from),
            "valid_until": format_time(r.fact.valid_until),
            "recorded_at": format_time(r.recorded_at),
            "explained_in_language": r.fact.explained_in_language,
            "interpreter_used": r.fact.interpreter_used,
        }
        for r in history.declarations
    ] + [
        {
            "kind": "withdrawal",
            "declaration_id": r.fact.declaration_id,
            "message_id": r.message_id,
            "recorded_by": r.recorded_by,
            "withdrawn_at": format_time(r.fact.withdrawn_at),
            "by": r.fact.by,
            "recorded_at": format_time(r.recorded_at),
        }
        for r in history.withdrawals
    ]
    return sorted(found, key=lambda r: r["recorded_at"], reverse=True)
