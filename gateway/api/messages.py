"""POST /v1/messages: the intake of signed messages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway import pipeline
from gateway.api import http, problems
from gateway.errors import GatewayError
from gateway.resources import ReceiptResponse

blp = Blueprint("messages", __name__, url_prefix="/v1", description="Signed message intake")

JOSE = "application/jose"
INTAKE_PROBLEMS = {
    400: "malformed, unsupported-header",
    401: "unknown-key, key-not-valid, invalid-signature",
    403: "sender-mismatch, not-authorised",
    409: "conflict, replay",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "schema-violation",
    503: "unavailable (retry after Retry-After)",
}


def _read_message() -> bytes:
    """Media type and size first; both refusals are audited like any other."""
    svc = http.services()
    try:
        http.require_media_type(JOSE)
        return http.read_body(svc.settings.max_body_bytes)
    except GatewayError as error:
        pipeline.refuse(svc, http.now(), http.trace_id(), error)
        raise


@blp.route("/messages", methods=["POST"])
@blp.doc(
    summary="Submit a signed message",
    description="Body: a JWS in compact serialization (RFC 7515 §7.1), "
    "Content-Type application/jose. 202 with a signed receipt once the message and its "
    "audit entry are committed; 200 with the original receipt for the same bytes again.",
    requestBody={
        "required": True,
        "content": {
            JOSE: {
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){2}$"}
            }
        },
    },
)
@blp.response(202, ReceiptResponse, description="Accepted: stored durably and audited")
@blp.alt_response(
    200, schema=ReceiptResponse, description="The same bytes again: the original receipt"
)
@problems.documented(blp, INTAKE_PROBLEMS)
def post_message() -> Any:
    raw = _read_message()
    outcome = pipeline.accept(
        raw, services=http.services(), now=http.now(), trace_id=http.trace_id()
    )
    return {"receipt": outcome.receipt}, outcome.status
