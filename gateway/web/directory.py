"""GET /v1/parties: the directory of registered parties, for the connectors.

COA's systems know a newcomer's municipality by its CBS code, not by its
OIN; a provider knows the municipality that assigned it. The directory lets
a connector address a message from what its own records hold. OINs, names
and municipality codes are public (the OIN register publishes them), so any
registered party may read it; keys are not in it (they are in no one's
interest but the gateway's).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from gateway.domain.vocabulary import ROLES
from gateway.domain.wire import jwk
from gateway.errors import BadRequest
from gateway.service import registry
from gateway.web import apidoc, http
from gateway.web.resources import Directory, JwkSet

blp = Blueprint("directory", __name__, url_prefix="/v1", description="Directory of parties")


@blp.route("/parties", methods=["GET"])
@blp.response(200, Directory)
@blp.doc(
    summary="Registered parties (OIN, role, name, municipality code); `role=` filters",
    description="Any registered party. `municipality_code` (CBS) for municipalities only; "
    "an unknown `role` is `400 bad-request`. Not audited: public register data, no "
    "personal data, no keys.",
)
@apidoc.operation(
    blp, "listParties", parameters=[apidoc.query("role", {"type": "string", "enum": list(ROLES)},
                                                  "only the parties of this role")],
    problem_codes={400: "bad-request", 401: "unauthenticated"},
)  # fmt: skip
def parties() -> Any:
    party = http.caller()
    role = request.args.get("role")
    if role is not None and role not in ROLES:
        raise BadRequest("query parameter role must be one of " + ", ".join(ROLES))
    listed = registry.directory(http.services(), party, role)
    return {
        "parties": [
            {
                "oin": p.oin,
                "role": p.role,
                "name": p.name,
                **({"municipality_code": p.municipality_code} if p.municipality_code else {}),
            }
            for p in listed
        ]
    }


@blp.route("/parties/<oin>/keys", methods=["GET"])
@blp.response(200, JwkSet)
@blp.doc(
    summary="An issuer's public keys (COA's), for recipients that verify its signature",
    description="Any registered party. The JWK Set of the keys the party may sign with now "
    "(neither expired nor revoked); each `kid` is the key's RFC 7638 thumbprint. Only for "
    "parties whose signature recipients verify themselves (COA, whose version-2 handover "
    "profile a municipality verifies): `404 not-found` for any other OIN. A recipient pins "
    "what it fetched (it must not trust the gateway for COA's key afresh at every check).",
)
@apidoc.operation(
    blp, "listIssuerKeys",
    parameters=[apidoc.path("oin", {"type": "string", "pattern": "^[0-9]{20}$"},
                            "the issuer's OIN (COA's)")],
    problem_codes={400: "bad-request", 401: "unauthenticated", 404: "not-found"},
)  # fmt: skip
def issuer_keys(oin: str) -> Any:
    party = http.caller()
    if not (len(oin) == 20 and oin.isdigit()):
        raise BadRequest("an OIN is 20 digits")
    records = registry.issuer_keys(http.services(), party, oin, http.now())
    return {"keys": [jwk.public_jwk(jwk.import_registered(r.kid, r.jwk)) for r in records]}
