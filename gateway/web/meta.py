"""Public endpoints: health and the gateway's published keys."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway.service.services import check_health
from gateway.web import apidoc, http
from gateway.web.resources import Health, JwkSet

blp = Blueprint("meta", __name__, description="Health and the gateway's public keys")


@blp.route("/v1/health", methods=["GET"])
@blp.response(200, Health)
@blp.doc(
    summary="200 when the database answers, 503 otherwise",
    description="No authentication. `503 unavailable` with `Retry-After: 5` and the cause in "
    "`detail` (disk full, read-only, locked, unreachable) for as long as the database refuses "
    "writes, and while the Logboek Dataverwerkingen lags past its grace (the detail names the "
    "logbook and its cause); `200` again, without a restart, once it writes "
    "(docs/interface.md, Health).",
)
@apidoc.operation(blp, "getHealth", secured=False, problem_codes={503: "unavailable"})
def health() -> Any:
    check_health(http.services())
    return {"status": "ok"}


def _jwks() -> dict[str, Any]:
    return {"keys": http.services().published_keys()}


@blp.route("/.well-known/jwks.json", methods=["GET"])
@blp.response(200, JwkSet)
@blp.doc(
    summary="The gateway's public signing keys (receipts, deliveries, checkpoints)",
    description="No authentication. Public JWKs only, each with `kid` (its thumbprint) and "
    "`use: sig`; never a private member. Every key that verifies something the gateway "
    "signed: the key that signs now first, then, during a key rotation, the key beside it, "
    "then every retired key (`GET /v1/keys/retired`), kept so that what it signed verifies "
    "for good.",
)
@apidoc.operation(blp, "getJwks", secured=False, problem_codes={})
def well_known_jwks() -> Any:
    return _jwks()


@blp.route("/v1/keys", methods=["GET"])
@blp.response(200, JwkSet)
@blp.doc(
    summary="The same JWK Set as /.well-known/jwks.json",
    description="No authentication. The same answer as `GET /.well-known/jwks.json`, under "
    "the API's versioned path.",
)
@apidoc.operation(blp, "getKeys", secured=False, problem_codes={})
def keys() -> Any:
    return _jwks()


@blp.route("/v1/keys/retired", methods=["GET"])
@blp.response(200, JwkSet)
@blp.doc(
    summary="The gateway's retired signing keys",
    description="No authentication. The keys of `GET /v1/keys` that sign nothing any more "
    "(a key rotation retired them): each still verifies what it signed before it was "
    "retired. An empty set until a key is retired. When each key was retired is in the "
    "audit log (`signing_key.changed`, reason `retired:<kid>`).",
)
@apidoc.operation(blp, "getRetiredKeys", secured=False, problem_codes={})
def retired_keys() -> Any:
    return {"keys": http.services().retired_keys()}
