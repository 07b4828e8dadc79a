"""GET /v1/consents: a municipality's consent records for one of its newcomers."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway.domain import rights
from gateway.web import http, problems

blp = Blueprint("consents", __name__, url_prefix="/v1", description="Consent records")


@blp.route("/consents", methods=["GET"])
@blp.doc(
    summary="Declarations and withdrawals recorded for `v_number` with the calling "
    "municipality, newest first"
)
@problems.documented(blp, {400: "bad-request", 401: "unauthenticated", 403: "not-authorised"})
def consents() -> Any:
    party = http.caller("municipality")
    v_number = rights.check_v_number(http.request_arg("v_number"))
    return {"consents": http.services().store.consent_records(party.oin, v_number)}
