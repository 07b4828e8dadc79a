"""What the OpenAPI document says of each operation, beyond what flask-smorest infers.

The views parse their query parameters themselves, strictly (``http``), so
flask-smorest cannot see them: each operation declares its parameters here,
with the ranges and patterns the views enforce, its success response and
media type, its problems, and whether it needs the bearer assertion. One
decorator per view keeps the document next to the code it describes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask_smorest import Blueprint

from gateway.web import problems

F = TypeVar("F", bound=Callable[..., Any])

QUERY_NAMES: dict[str, frozenset[str]] = {}
"""endpoint (``blueprint.view``) → the query parameters its operation declares; the app
refuses others before the view runs"""

BEARER = "bearerAssertion"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWS",
    "description": "A compact JWS (typ inburgering-assertion+jws) by a key registered for "
    "the calling party: claims exactly iss (its OIN), aud, iat, exp (at most 300 s after "
    "iat) and a jti used once. See docs/interface.md, Authenticated reads.",
}
RATE_LIMITED = "rate-limited: over the calling party's limit; send again after Retry-After"
V_NUMBER = {"type": "string", "pattern": "^[0-9]{10}$", "example": "1234567890"}
RFC3339 = {"type": "string", "format": "date-time", "example": "2027-06-01T00:00:00Z"}


def query(name: str, schema: Mapping[str, Any], description: str, *, required: bool = False) -> (
    dict[str, Any]
):  # fmt: skip
    return {"name": name, "in": "query", "required": required, "schema": dict(schema),
            "description": description}  # fmt: skip


def count(
    name: str, description: str, *, low: int = 0, high: int = 2**62, default: int | None = None
) -> dict[str, Any]:
    """A non-negative integer query parameter as ``http.int_arg`` reads it."""
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return query(name, schema, description, required=default is None)


def path(name: str, schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": dict(schema),
            "description": description}  # fmt: skip


def operation(
    blp: Blueprint,
    operation_id: str,
    *,
    problem_codes: Mapping[int, str],
    ok: int | None = None,
    schema: Any = None,
    content_type: str | None = None,
    description: str = "OK",
    parameters: Sequence[Mapping[str, Any]] = (),
    secured: bool = True,
    example: Any = None,
    links: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Document a view: its id, parameters, security, success response and problems.

    ``ok`` None: the success response is declared by ``blp.response`` already.
    """

    def decorate(view: F) -> F:
        QUERY_NAMES[f"{blp.name}.{view.__name__}"] = frozenset(
            p["name"] for p in parameters if p["in"] == "query"
        )
        doc: dict[str, Any] = {
            "operationId": operation_id,
            "security": [{BEARER: []}] if secured else [],
        }
        if parameters:
            doc["parameters"] = [dict(p) for p in parameters]
        if ok is not None:
            response: dict[str, Any] = {"description": description}
            if schema is not None or example is not None:
                media: dict[str, Any] = {}
                if schema is not None:
                    media["schema"] = schema
                if example is not None:
                    media["example"] = example
                response["content"] = {content_type or "application/json": media}
            if links:
                response["links"] = dict(links)
            doc["responses"] = {str(ok): response}
        view = blp.doc(**doc)(view)
        codes = dict(problem_codes)
        if secured:
            codes.setdefault(429, RATE_LIMITED)
        return problems.documented(blp, codes)(view)

    return decorate
