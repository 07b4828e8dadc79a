"""The municipality inbox over HTTP: pull and acknowledge."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from gateway.errors import NotFound
from gateway.service import inbox
from gateway.web import apidoc, examples, http
from gateway.web.readings import InboxPage

blp = Blueprint(
    "inbox",
    __name__,
    url_prefix="/v1/inbox",
    description="Inboxes: a municipality's deliveries, a provider's briefs",
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
MAX_LIMIT = 500
MAX_LEASE_SECONDS = 600


@blp.route("", methods=["GET"])
@blp.doc(
    summary="Unacknowledged deliveries after `after`, at most `limit` (1..500), each "
    "cut to the categories that a legal basis or consent in force allows now",
    description="With `lease` (seconds, 1..600) the page's deliveries are leased to this "
    "pull: no other pull gets them until they are acknowledged or the lease ends, so "
    "several pullers of one municipality can share the inbox. Without it, a delivery "
    "comes again on every pull until acknowledged, except while another pull holds its lease.",
)
@apidoc.operation(
    blp, "pullInbox", ok=200, schema=InboxPage, description="A page of deliveries",
    example=examples.INBOX,
    parameters=[
        apidoc.count("after", "the previous page's next_cursor", default=0),
        apidoc.count("limit", "deliveries a page", low=1, high=MAX_LIMIT, default=100),
        apidoc.query("lease", {"type": "integer", "minimum": 1, "maximum": MAX_LEASE_SECONDS},
                     "seconds this page is this puller's alone"),
        apidoc.SCHEDULED,
    ],
    problem_codes={400: "bad-request", 401: "unauthenticated", 403: "not-authorised"},
    links={
        "acknowledge": {"operationId": "acknowledgeDelivery",
                        "parameters": {"delivery_id": "$response.body#/deliveries/0/delivery_id"}},
        "nextPage": {"operationId": "pullInbox",
                     "parameters": {"after": "$response.body#/next_cursor"}},
    },
)  # fmt: skip
def pull() -> Any:
    party = http.caller()
    after = http.int_arg("after", default=0)
    limit = http.int_arg("limit", low=1, high=MAX_LIMIT, default=100)
    # Absent: no lease. Given, 1..600 s: a lease of 0 would lease nothing.
    lease = timedelta(seconds=http.int_arg("lease", low=1, high=MAX_LEASE_SECONDS, default=0))
    scheduled = http.flag_arg("scheduled")
    page = inbox.pull(http.services(), party, after, limit, http.now(), http.trace_id(), lease,
                      scheduled=scheduled)  # fmt: skip
    return {"deliveries": page.deliveries, "next_cursor": page.next_cursor}


@blp.route("/<delivery_id>/ack", methods=["POST"])
@blp.doc(
    summary="Acknowledge a delivery (idempotent); it will not come again",
    description="Municipality or provider role. Again `204` for a delivery acknowledged "
    "already (audited with reason `already-acknowledged`); another party's delivery, or "
    "none, is `404`. The id compares case-insensitively.",
)
@apidoc.operation(
    blp, "acknowledgeDelivery", ok=204, description="Acknowledged (or it was already)",
    parameters=[apidoc.path("delivery_id", {"type": "string", "format": "uuid"},
                            "the delivery's id, as the pull gave it")],
    problem_codes={401: "unauthenticated", 403: "not-authorised", 404: "not-found"},
)  # fmt: skip
def acknowledge(delivery_id: str) -> Any:
    party = http.caller()
    if not _UUID.fullmatch(delivery_id):
        raise NotFound("no such delivery")
    # a UUID is one value in either case (RFC 9562), as message ids are compared
    delivery_id = delivery_id.lower()
    inbox.acknowledge(http.services(), party, delivery_id, http.now(), http.trace_id())
    return Response(status=204)
