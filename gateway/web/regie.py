"""Regie for the municipality of placement: one newcomer's progress, every newcomer's signals."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from gateway.service import auditing, regie
from gateway.web import apidoc, examples, http
from gateway.web.readings import AccessReport, Progress, SignalsPage

blp = Blueprint("regie", __name__, url_prefix="/v1", description="Progress against the plan")
MAX_LIMIT = 1000
PROBLEMS = {400: "bad-request", 401: "unauthenticated", 403: "not-authorised"}


@blp.route("/newcomers/<v_number>/progress", methods=["GET"])
@blp.doc(
    summary="The plan in force, assignments, hours and signals of one newcomer placed with "
    "the calling municipality, from what it may see now",
    description="With `at` (RFC 3339, now up to a term ahead) the assignments and signals are "
    "a forecast: judged at that time on what is held and may be seen now.",
)
@apidoc.operation(
    blp, "getProgress", ok=200, schema=Progress, description="The newcomer's progress",
    example=examples.PROGRESS,
    parameters=[apidoc.path("v_number", apidoc.V_NUMBER, "the newcomer's V-nummer"),
                apidoc.query("at", apidoc.RFC3339, "a forecast: judge at this later time"),
                apidoc.SCHEDULED],
    problem_codes=PROBLEMS,
)  # fmt: skip
def progress(v_number: str) -> Any:
    party = http.caller()
    services, at = http.services(), http.time_arg("at")
    return regie.progress(services, party, v_number, http.now(), http.trace_id(), at,
                          scheduled=http.flag_arg("scheduled"))  # fmt: skip


@blp.route("/signals", methods=["GET"])
@blp.doc(
    summary="The signals of every newcomer placed with the calling municipality, in the "
    "order they were placed: after `after`, at most `limit` (1..1000) newcomers",
    description="Each newcomer listed, with or without signals, is one `regie.read` audit "
    "entry. A page shorter than `limit` is the last; `next_cursor` is the next page's `after`. "
    "With `at` (RFC 3339, now up to a term ahead) the signals are a forecast: judged at that "
    "time on what is held and may be seen now.",
)
@apidoc.operation(
    blp, "listSignals", ok=200, schema=SignalsPage, description="A page of newcomers",
    example=examples.SIGNALS,
    parameters=[
        apidoc.count("after", "the previous page's next_cursor", default=0),
        apidoc.count("limit", "newcomers a page", low=1, high=MAX_LIMIT, default=100),
        apidoc.query("at", apidoc.RFC3339, "a forecast: judge at this later time"),
        apidoc.SCHEDULED,
    ],
    problem_codes=PROBLEMS,
    links={"nextPage": {"operationId": "listSignals",
                        "parameters": {"after": "$response.body#/next_cursor"}}},
)  # fmt: skip
def signals() -> Any:
    party = http.caller()
    after = http.int_arg("after", default=0)
    limit = http.int_arg("limit", low=1, high=MAX_LIMIT, default=100)
    at = http.time_arg("at")
    page = regie.signals_page(http.services(), party, after, limit, http.now(), http.trace_id(), at,
                              scheduled=http.flag_arg("scheduled"))  # fmt: skip
    return {"newcomers": page.newcomers, "next_cursor": page.next_cursor}


@blp.route("/newcomers/<v_number>/access-report", methods=["GET"])
@blp.doc(
    summary="The newcomer's own copy (GDPR art. 15), for the municipality they are placed "
    "with: every audit entry about them, and the readable report in `lang`",
    description="Audited as `audit.read` with processing activity `subject-access`. The "
    "report is one self-contained HTML page (Arabic right to left), in Dutch time.",
)
@apidoc.operation(
    blp, "getAccessReport", ok=200, schema=AccessReport, description="The newcomer's own copy",
    example=examples.ACCESS_REPORT,
    parameters=[
        apidoc.path("v_number", apidoc.V_NUMBER, "the newcomer's V-nummer"),
        apidoc.query("lang", {"type": "string", "enum": ["nl", "en", "ar", "tr"],
                              "default": "nl"}, "the report's language"),
    ],
    problem_codes=PROBLEMS,
)  # fmt: skip
def access_report(v_number: str) -> Any:
    party = http.caller()
    language = request.args.get("lang", "nl")
    return auditing.own_copy(
        http.services(), party, v_number, language, http.now(), http.trace_id()
    )
