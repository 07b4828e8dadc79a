"""All of the HTTP error contract on one screen (RFC 9457 problem+json).

A GatewayError becomes its own code and status; routing errors (404, 405)
keep their headers (``Allow``) and become ``about:blank`` problems with a
contract code (any other HTTP error Flask raises, too: never a code the
contract does not list); anything else is a bare 500 without detail, logged
with the trace id so an operator can find it. The server's own answers
(request line and header limits, read deadline) are problems too
(gateway.slowclients).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, Response, g
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from gateway import logs
from gateway.errors import BY_CODE, GatewayError
from gateway.web.resources import Problem

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM = "application/problem+json"
log = logs.get("gateway.http")


def respond(document: dict[str, Any]) -> Response:
    """A problem document as the response (not cached; its code kept for the log line)."""
    response = Response(json.dumps(document), status=document["status"], mimetype=PROBLEM)
    response.headers["Cache-Control"] = "no-store"
    g.problem_code = document["code"]
    return response


def error_document(error: GatewayError) -> dict[str, Any]:
    """The problem document of a domain error (a batch item's result carries one)."""
    return problem_document(
        error.status, error.code, error.title, error.detail, dict(error.extra())
    )


def problem_document(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    extra: dict[str, Any] | None = None,
    type_: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_ or f"urn:inburgering-gateway:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    trace = g.get("trace_id")
    if trace:
        body["trace_id"] = trace
    body.update(extra or {})
    return body


def on_gateway_error(error: GatewayError) -> Response:
    response = respond(error_document(error))
    response.headers.update(error.headers())
    return response


_HTTP_CODES = {
    **{cls.status: cls.code for cls in BY_CODE.values() if cls.status in (408, 413, 414, 415, 431)},
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
}
"""The contract's code of each HTTP error Flask or werkzeug may raise"""


def on_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "internal-error" if status >= 500 else "bad-request")
    response = respond(problem_document(status, code, error.name, type_="about:blank"))
    for name, value in error.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response


def on_unexpected(error: Exception) -> Response:
    log.error("unhandled_error", error_type=logs.error_kind(error))
    return respond(problem_document(500, "internal-error", "Internal error", type_="about:blank"))


def documented(blp: Blueprint, codes: Mapping[int, str]) -> Callable[[F], F]:
    """Declare a view's problem responses in the OpenAPI document, one per status."""

    def decorate(view: F) -> F:
        for status, description in codes.items():
            view = blp.alt_response(
                status, schema=Problem, content_type=PROBLEM, description=description
            )(view)
        return view

    return decorate


def init_app(app: Flask) -> None:
    app.register_error_handler(GatewayError, on_gateway_error)
    app.register_error_handler(HTTPException, on_http_exception)
    app.register_error_handler(Exception, on_unexpected)
