"""One newcomer's newest handover profile, read again by the municipality placing them.

Beside the inbox, not in it: the inbox is one stream per municipality, so a
second consumer (the console beside the case system's folder puller) would
never see a profile the first acknowledged (issue #25).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from gateway.domain.vocabulary import HANDOVER_PROFILE
from gateway.service import profiles
from gateway.web import apidoc, http
from gateway.web.readings import Profile

blp = Blueprint(
    "newcomers", __name__, url_prefix="/v1", description="A newcomer's profile, read again"
)
_UUID = "3f2c1a9e-7b4d-4e8f-9a1b-2c3d4e5f6a7b"
EXAMPLE: dict[str, Any] = {
    "message_id": _UUID, "type": HANDOVER_PROFILE, "version": 1,
    "sender": "00000001003214345000", "subject": {"v_number": "1234567890", "bsn": "999990019"},
    "issued_at": "2026-12-01T09:00:00Z", "received_at": "2026-12-01T09:00:01.000000Z",
    "trace_id": "0193b6a0c8f27d3e8a1b2c3d4e5f6071",
    "body": {"identity": {"given_names": "Amina", "family_name": "Voorbeeld"}},
    "withheld_categories": ["health"],
    "profile_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl",
}  # fmt: skip
"""Synthetic values only (the BSN passes the 11-test and is no one's)"""


@blp.route("/newcomers/<v_number>/profile", methods=["GET"])
@blp.doc(
    summary="The newest handover profile that placed the newcomer with the calling "
    "municipality, cut to the categories a legal basis or consent in force allows now",
    description="For a second consumer of the inbox (a console beside the case system's "
    "puller), which cannot see a delivery the first acknowledged. Shaped as a delivery "
    "without `delivery_id`: nothing to acknowledge. Audited as a pull (`delivery.pulled`, "
    "reason `profile-read`, or `profile-read:scheduled` for a tool's scheduled run). A "
    "withdrawal notice names inbox deliveries only: a reader of "
    "this profile acts on every notice about the newcomer. 404 when the newcomer's data "
    "was erased.",
)
@apidoc.operation(
    blp, "getProfile", ok=200, schema=Profile, description="The newcomer's profile",
    example=EXAMPLE,
    parameters=[apidoc.path("v_number", apidoc.V_NUMBER, "the newcomer's V-nummer"),
                apidoc.SCHEDULED],
    problem_codes={400: "bad-request", 401: "unauthenticated", 403: "not-authorised",
                   404: "not-found"},
)  # fmt: skip
def profile(v_number: str) -> Any:
    party = http.caller()
    return profiles.read(http.services(), party, v_number, http.now(), http.trace_id(),
                         scheduled=http.flag_arg("scheduled"))  # fmt: skip
