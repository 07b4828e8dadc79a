"""POST /v1/messages: the intake of signed messages."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from gateway.domain.wire import batch, sdprofile
from gateway.errors import GatewayError, UnsupportedMediaType
from gateway.service import intake
from gateway.web import apidoc, examples, http, problems
from gateway.web.resources import BatchResponse, ReceiptResponse

blp = Blueprint("messages", __name__, url_prefix="/v1", description="Signed message intake")

JOSE = "application/jose"
INTAKE_PROBLEMS = {
    400: "malformed, unsupported-header",
    401: "unknown-key, key-not-valid, invalid-signature; unauthenticated: no verified TLS "
    "client certificate (Digikoppeling transport)",
    403: "sender-mismatch, not-authorised (also: the TLS client certificate's OIN is not the "
    "sender's)",
    409: "conflict, replay",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "schema-violation",
    429: "rate-limited: over the sender's limit; nothing decided, send again after Retry-After",
    503: "unavailable (retry after Retry-After)",
}


def _transport_oin() -> str | None:
    """The connection's certificate OIN (Digikoppeling); a refusal is audited like any other."""
    try:
        return http.transport_oin()
    except GatewayError as error:
        intake.refuse(http.services(), http.now(), http.trace_id(), error)
        raise


def _read_message() -> bytes:
    """Media type and size first; both refusals are audited like any other."""
    svc = http.services()
    try:
        http.require_media_type(JOSE, sdprofile.MEDIA_TYPE)
        raw = http.read_body(svc.settings.max_body_bytes)
        if sdprofile.is_sd(raw) != (request.mimetype == sdprofile.MEDIA_TYPE):
            sd = sdprofile.MEDIA_TYPE
            raise UnsupportedMediaType(f"a JWS is sent as {JOSE}, an SD-JWT (version 2) as {sd}")
        return raw
    except GatewayError as error:
        intake.refuse(svc, http.now(), http.trace_id(), error)
        raise


@blp.route("/messages", methods=["POST"])
@blp.doc(
    summary="Submit a signed message",
    description="Body: a JWS in compact serialization (RFC 7515 §7.1), "
    "Content-Type application/jose; or a version-2 handover profile, COA's SD-JWT "
    "(RFC 9901) with every disclosure, Content-Type application/sd-jwt. 202 with a signed "
    "receipt once the message and its audit entry are committed; 200 with the original "
    "receipt for the same bytes again.",
    requestBody={
        "required": True,
        "content": {
            JOSE: {
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){2}$"},
                "example": examples.MESSAGE,
            },
            sdprofile.MEDIA_TYPE: {
                "schema": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){2}~([A-Za-z0-9_-]+~)*$",
                },
            },
        },
    },
)
@blp.response(202, ReceiptResponse, description="Accepted: stored durably and audited")
@blp.alt_response(
    200, schema=ReceiptResponse, description="The same bytes again: the original receipt"
)
@apidoc.operation(blp, "submitMessage", secured=False, problem_codes=INTAKE_PROBLEMS)
def post_message() -> Any:
    raw = _read_message()  # first: a body left unread would cost the front its connection
    transport_oin = _transport_oin()
    outcome = intake.accept(
        raw,
        services=http.services(),
        now=http.now(),
        trace_id=http.trace_id(),
        transport_oin=transport_oin,
    )
    return {"receipt": outcome.receipt}, outcome.status


BATCH_PROBLEMS = {
    400: "malformed (not the batch object)",
    413: "payload-too-large (body over the batch limit, or over 1,000 items)",
    415: "unsupported-media-type",
    429: "rate-limited: a sender over its limit (a token per 100 messages); nothing of the "
    "batch was kept, retry it whole after Retry-After",
    503: "unavailable: nothing of the batch was kept; retry it whole after Retry-After",
}


def _read_batch() -> list[bytes | GatewayError]:
    """The batch request's items; a refusal of the whole request is audited once."""
    svc = http.services()
    try:
        http.require_media_type("application/json")
        body = http.read_body(svc.settings.max_batch_bytes)
        return batch.parse_request(body, max_item_bytes=svc.settings.max_body_bytes)
    except GatewayError as error:
        intake.refuse(svc, http.now(), http.trace_id(), error)
        raise


def _result(outcome: intake.Outcome | GatewayError) -> dict[str, Any]:
    if isinstance(outcome, GatewayError):
        return {"status": outcome.status, "problem": problems.error_document(outcome)}
    return {"status": outcome.status, "receipt": outcome.receipt}


@blp.route("/messages:batch", methods=["POST"])
@blp.doc(
    summary="Submit up to 1,000 signed messages at once",
    description='Body: application/json {"messages": [<compact JWS>, …]}. Each item is '
    "checked as by POST /v1/messages; the accepted ones and every refusal's audit entry are "
    "committed in one transaction, then 200 with one result per item, in order. One bad "
    "item never sinks the others.",
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "example": examples.BATCH,
                "schema": {
                    "type": "object",
                    "required": ["messages"],
                    "additionalProperties": False,
                    "properties": {
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": batch.MAX_ITEMS,
                            "items": {
                                "type": "string",
                                "description": "a compact JWS, or a version-2 handover "
                                "profile's SD-JWT; an item that is neither is refused alone, "
                                "in its own result (400 malformed)",
                            },
                        }
                    },
                },
            }
        },
    },
)
@blp.response(200, BatchResponse, description="One result per item, in order")
@apidoc.operation(blp, "submitBatch", secured=False, problem_codes=BATCH_PROBLEMS)
def post_batch() -> Any:
    items = _read_batch()
    transport_oin = _transport_oin()
    outcomes = intake.accept_batch(
        items,
        services=http.services(),
        now=http.now(),
        trace_id=http.trace_id(),
        transport_oin=transport_oin,
    )
    return {"results": [_result(o) for o in outcomes]}, 200
