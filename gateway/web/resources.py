"""Marshmallow descriptions of our own HTTP resources (not the message schemas).

They feed the OpenAPI document and shape the JSON the API returns; the
message bodies themselves are described by the JSON Schemas in ``schemas/``.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.errors import BY_CODE

PROBLEM_CODES = {*BY_CODE, "not-found", "method-not-allowed", "internal-error"}
"""every code a problem document can carry: the domain's, and routing's (werkzeug's)"""


class ReceiptResponse(Schema):
    receipt = fields.String(
        required=True,
        metadata={
            "description": "JWS by the gateway (typ inburgering-receipt+jws); payload: "
            "message_id, status, received_at, message_digest, audit"
        },
    )


class Health(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class Jwk(Schema):
    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    y = fields.String()
    kid = fields.String(required=True)
    use = fields.String()


class JwkSet(Schema):
    keys = fields.List(fields.Nested(Jwk), required=True)


class PartyEntry(Schema):
    oin = fields.String(required=True, metadata={"example": "00000001002220647000"})
    role = fields.String(required=True, metadata={"example": "municipality"})
    name = fields.String(required=True)
    municipality_code = fields.String(metadata={"example": "GM0546"})


class Directory(Schema):
    parties = fields.List(fields.Nested(PartyEntry), required=True)


class SchemaError(Schema):
    pointer = fields.String(required=True)
    keyword = fields.String(required=True)
    rule = fields.String(
        metadata={"description": "the rule in words, from the schema's side (never the value)",
                  "example": "a date as YYYY-MM-DD"}
    )  # fmt: skip


class Problem(Schema):
    """RFC 9457 problem details with the contract's stable ``code``."""

    type = fields.String(
        required=True, metadata={"example": "urn:inburgering-gateway:problem:not-authorised"}
    )
    title = fields.String(required=True, metadata={"example": "Not authorised"})
    status = fields.Integer(required=True, metadata={"example": 403})
    detail = fields.String(
        metadata={"example": "the newcomer is not placed with this municipality"}
    )
    code = fields.String(
        required=True, metadata={"enum": sorted(PROBLEM_CODES), "example": "not-authorised"}
    )
    trace_id = fields.String()
    errors = fields.List(fields.Nested(SchemaError))
    reason = fields.String(
        metadata={
            "description": "on 409 conflict: message-id-reused, subject-erased, "
            "declaration-exists, withdrawal-final or already-registered"
        }
    )


class BatchItemResult(Schema):
    status = fields.Integer(
        required=True,
        metadata={"description": "what POST /v1/messages would have answered for this item"},
    )
    receipt = fields.String(metadata={"description": "on 202 and 200: the signed receipt"})
    problem = fields.Nested(Problem, metadata={"description": "on a refusal: its problem"})


class BatchResponse(Schema):
    results = fields.List(
        fields.Nested(BatchItemResult),
        required=True,
        metadata={"description": "one result per item, in the order of the request"},
    )
