"""POST /v1/messages: the intake of signed messages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway import pipeline
from gateway.api import http
from gateway.errors import GatewayError
from gateway.resources import Problem, ReceiptResponse

blp = Blueprint("messages", __name__, url_prefix="/v1", description="Signed message intake")

JOSE = "application/jose"


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
@blp.alt_response(
    400,
    schema=Problem,
    content_type="application/problem+json",
    description="malformed, unsupported-header",
)
@blp.alt_response(
    401,
    schema=Problem,
    content_type="application/problem+json",
    description="unknown-key, key-not-valid, invalid-signature",
)
@blp.alt_response(
    403,
    schema=Problem,
    content_type="application/problem+json",
    description="sender-mismatch, not-authorised",
)
@blp.alt_response(
    409, schema=Problem, content_type="application/problem+json", description="conflict, replay"
)
@blp.alt_response(
    413, schema=Problem, content_type="application/problem+json", description="payload-too-large"
)
@blp.alt_response(
    415,
    schema=Problem,
    content_type="application/problem+json",
    description="unsupported-media-type",
)
@blp.alt_response(
    422, schema=Problem, content_type="application/problem+json", description="schema-violation"
)
@blp.alt_response(
    503,
    schema=Problem,
    content_type="application/problem+json",
    description="unavailable (retry after Retry-After)",
)
def post_message() -> Any:
    raw = _read_message()
    outcome = pipeline.accept(
        raw, services=http.services(), now=http.now(), trace_id=http.trace_id()
    )
    return {"receipt": outcome.receipt}, outcome.status
