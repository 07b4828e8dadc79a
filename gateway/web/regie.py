"""GET /v1/newcomers/{v_number}/progress: regie for the municipality of placement."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway.service import regie
from gateway.web import http, problems

blp = Blueprint("regie", __name__, url_prefix="/v1", description="Progress against the plan")


@blp.route("/newcomers/<v_number>/progress", methods=["GET"])
@blp.doc(
    summary="The plan in force, assignments, hours and signals of one newcomer placed with "
    "the calling municipality, from what it may see now"
)
@problems.documented(blp, {400: "bad-request", 401: "unauthenticated", 403: "not-authorised"})
def progress(v_number: str) -> Any:
    party = http.caller("municipality")
    return regie.progress(http.services(), party, v_number, http.now(), http.trace_id())
