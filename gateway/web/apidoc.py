"""What the OpenAPI document says of each operation, beyond what flask-smorest infers.

The views parse their query parameters themselves, strictly (``http``), so
flask-smorest cannot see them: each operation declares its parameters here,
with the ranges and patterns the views enforce, its success response and
media type, its problems, and whether it needs the bearer assertion. One
decorator per view keeps the document next to the code it describes.
``describe`` adds what is said of the whole document: the version, its header on
every answer, the server (the NLGov API Design Rules, checked by ``.ci/adr/lint``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from apispec import APISpec, BasePlugin
from flask_smorest import Blueprint

from gateway.domain import vocabulary
from gateway.web import problems

F = TypeVar("F", bound=Callable[..., Any])

API_VERSION, VERSION_HEADER = vocabulary.API_VERSION, vocabulary.VERSION_HEADER
_VERSION_HEADER_DOC = {
    "description": "The API's full version (Semantic Versioning), on every answer, "
    "errors included (NLGov API Design Rules, /core/version-header)",
    "required": True,
    "schema": {"type": "string", "pattern": r"^1\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"},
    "example": API_VERSION,
}
SERVERS = [
    {
        "url": "/",
        "description": "the origin this document was read from: each operator serves the "
        "gateway at its own, behind TLS (docs/deploy.md); the major version is in the paths",
    }
]
_UNUSED_SCHEMAS = ("Error", "PaginationMetadata")
"""flask-smorest's own schemas, which no operation of ours refers to (every error is a
Problem; nothing is paginated by flask-smorest)"""

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


SCHEDULED = query(
    "scheduled",
    {"type": "boolean", "default": False},
    "true: a tool's scheduled run, not a person's look; its audit entries say so (reason "
    "`scheduled`; for regie reads `signals:scheduled`, `progress:scheduled`; for a profile "
    "read `profile-read:scheduled`), so an auditor "
    "can tell routine reads from a person's (profile v1.2)",
)


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


def describe(spec: APISpec) -> None:
    """What the document says beyond its operations: the ``API-Version`` header on every
    response of every operation (registered before the blueprints, which it then sees),
    the server, and none of flask-smorest's schemas that no operation uses."""
    spec.components.header(VERSION_HEADER, _VERSION_HEADER_DOC)
    spec.options["servers"] = [dict(server) for server in SERVERS]
    for name in _UNUSED_SCHEMAS:
        spec.components.schemas.pop(name, None)
    plugins = spec.plugins
    assert isinstance(plugins, list)  # flask-smorest's own list, which the spec keeps
    plugin = _VersionHeader()
    plugin.init_spec(spec)
    plugins.append(plugin)


class _VersionHeader(BasePlugin):
    """Declares the ``API-Version`` header on each response of each operation, problems
    included: the app's ``after_request`` sets it on every answer."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {})[VERSION_HEADER] = VERSION_HEADER
