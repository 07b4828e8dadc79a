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
from gateway.errors import BadRequest
from gateway.service import registry
from gateway.web import apidoc, http
from gateway.web.resources import Directory

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
