"""DUO's Notificatie API, served for the municipalities: ``POST /v1/duo/notificaties``.

DUO's own document is its contract (API/Notificatie/openapi.yml 1.8.0 of
github.com/duonl/gemeente-m2m-inburgering at f4973d4): the headers ``bron``,
``doel``, ``berichtId``; ``201`` without a body; errors as DUO's
``Foutmelding`` (``{"fouttekst": ...}``, at most 200 characters), every
answer with ``API-Version: 1.8.0``. So this is a plain blueprint outside the
gateway's own OpenAPI document, which points to DUO's (docs/interface.md).
DUO is known by its connection: in Digikoppeling mode its TLS client
certificate (the party ``bron`` names, whose registration names that
certificate's OIN); in keys-only mode a bearer assertion, as every party.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gateway import logs
from gateway.domain import duo
from gateway.domain.parties import Party
from gateway.domain.wire import strictjson
from gateway.errors import BadRequest, GatewayError
from gateway.service import access, limits, notifications
from gateway.service.services import check_held
from gateway.web import http

blueprint = Blueprint("duo", __name__)
log = logs.get("gateway.duo")

MAX_BODY = 16 * 1024
"""a Notificatie is four short members: anything near this is not one"""
_FOUTTEKST = 200


@blueprint.post("/v1/duo/notificaties")
def notificaties() -> Response:
    """Take DUO's notification in: ``201`` the first time and for the same ``berichtId``
    again (entered once)."""
    svc = http.services()
    body = http.read_body(MAX_BODY)
    if request.mimetype != "application/json":
        raise BadRequest("Content-Type moet application/json zijn")
    addressed = notifications.check_headers(
        request.headers.get("bron"), request.headers.get("doel"), request.headers.get("berichtId")
    )
    caller = _caller(addressed.bron)
    try:
        parsed = strictjson.loads_object(body)
    except GatewayError:
        raise BadRequest("de body is geen JSON-object (strikt: geen dubbele namen, NaN)") from None
    told = duo.read_notification(parsed)
    notifications.receive(svc, caller, addressed, told, http.now(), http.trace_id())
    return Response(status=201)


def _caller(bron: str) -> Party:
    """DUO, by its certificate in Digikoppeling mode, else by its bearer assertion."""
    transport = http.transport_oin()
    if transport is None:
        return http.caller()
    svc = http.services()
    check_held(svc)  # as http.caller: a held log appends nothing, not even a refusal
    party = access.by_certificate(svc, bron, transport, http.now(), http.trace_id())
    limits.admit(svc, party.oin, http.now())
    return party


@blueprint.after_request
def _version(response: Response) -> Response:
    response.headers[notifications.VERSION_HEADER] = notifications.API_VERSION
    return response


@blueprint.errorhandler(GatewayError)
def _foutmelding(error: GatewayError) -> Response:
    """A refusal in DUO's shape, with the gateway's status and headers (Retry-After)."""
    detail = error.detail or error.title
    response = jsonify({"fouttekst": detail[:_FOUTTEKST]})
    response.status_code = error.status
    response.headers.update(error.headers())
    return response


@blueprint.errorhandler(Exception)
def _onverwacht(error: Exception) -> Response:
    log.error("unhandled_error", error_type=logs.error_kind(error))
    response = jsonify({"fouttekst": "interne fout in de gateway; probeer het later opnieuw"})
    response.status_code = 500
    return response
