"""The Flask app factory: the services it is given, the blueprints, the request log.

Kept apart from ``gateway/__init__.py`` so that importing the envelope or
any other core module never imports Flask. The services come built
(``gateway.bootstrap``): the web layer never reaches storage itself.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Flask, Response, current_app, g, request
from flask_smorest import Api
from werkzeug.routing import RequestRedirect

from gateway import logs
from gateway.domain.audit import events, transaction
from gateway.errors import NotFound
from gateway.service.services import Services
from gateway.web import (
    apidoc,
    consents,
    directory,
    duo,
    http,
    inbox,
    messages,
    meta,
    newcomers,
    problems,
    regie,
    witnesses,
)
from gateway.web import audit as audit_api

log = logs.get("gateway.http")


def create_app(services: Services, test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app over ``services``, which a serving process builds with their
    checkpointer (``build_services(..., checkpointer=True)``): the app starts its thread
    (unless ``CHECKPOINT_THREAD`` in ``test_config`` is off), and intake's guard asks it.

    Raises ValueError for services without one: an app that took messages with no
    guard would not stop when checkpoints fail, as the log's promise requires.
    """
    if services.checkpointer is None:
        raise ValueError("the app's services need their checkpointer (build_services)")
    logs.configure()
    app = Flask(__name__, instance_relative_config=False, static_folder=None)
    # "//" in a path is a 404 problem, not a 308 redirect to another URL (with an HTML
    # body): an API's client should not follow redirects, and a V-number never has a slash
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.config.update(
        API_TITLE="Inburgering gateway",
        API_VERSION=apidoc.API_VERSION,  # also every answer's API-Version header
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=None,  # bodies are read by gateway.web.http.read_body
        JSON_SORT_KEYS=False,
    )
    app.config["METRICS"] = services.settings.metrics
    if test_config:
        app.config.update(test_config)
    app.extensions["gateway"] = services
    if app.config.get("CHECKPOINT_THREAD", True):
        services.checkpointer.start()
        if services.logbook is not None:
            services.logbook.start()
            atexit.register(services.logbook.stop)  # a recycled worker gives its lease back

    api = _Api(
        app,
        spec_kwargs={
            "info": {
                "description": "Data-exchange and consent gateway "
                "for Dutch civic integration. Contract: docs/interface.md"
            }
        },
    )
    api.spec.components.security_scheme(apidoc.BEARER, apidoc.BEARER_SCHEME)
    apidoc.describe(api.spec)  # API-Version on every response, the server
    for module in (meta, messages, audit_api, witnesses, consents, inbox, directory, regie,
                   newcomers):  # fmt: skip
        api.register_blueprint(module.blp)
    app.register_blueprint(duo.blueprint)  # DUO's API: its own document, not ours
    problems.init_app(app)  # after Api(), which registers handlers of its own
    if services.settings.metrics:
        app.add_url_rule("/metrics", "metrics", _metrics)

    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)
    return app


class _Api(Api):  # type: ignore[misc]
    """flask-smorest's Api without its default error response: the gateway answers every
    error as a problem document, which each operation declares."""

    DEFAULT_ERROR_RESPONSE_NAME = None


def _start() -> None:
    g.started = time.perf_counter()
    g.trace_id = events.trace_id_from(request.headers.get("traceparent"))
    g.transaction_id = None
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(trace_id=g.trace_id)
    _take_transaction()
    _check_path()
    if request.endpoint in apidoc.QUERY_NAMES:
        http.check_query(apidoc.QUERY_NAMES[request.endpoint])


def _take_transaction() -> None:
    """An ``Fsc-Transaction-Id`` (a UUIDv7) becomes the request's trace id: it is what
    FSC carries from hop to hop (traceparent is not forwarded by every inway), and the
    audit entry and LDV record keep it as their ``trace_id`` (docs/interface.md,
    Logboek Dataverwerkingen). Raises BadRequest for a malformed one."""
    g.transaction_id = transaction.parse(request.headers.get(transaction.HEADER))
    if g.transaction_id is not None:
        g.trace_id = transaction.trace_id(g.transaction_id)
        structlog.contextvars.bind_contextvars(trace_id=g.trace_id)


def _forget(_error: BaseException | None) -> None:
    """The request's trace id leaves the thread's log context with the request, so that
    nothing the thread logs afterwards (a test, a job on a reused thread) claims it."""
    structlog.contextvars.clear_contextvars()


def _check_path() -> None:
    """Raises NotFound for a path with an encoded slash, and for any redirect routing
    would answer (werkzeug's RequestRedirect is no error to Flask's handlers: it went out
    as a 308 with an HTML body). ``%2F`` is decoded before routing, so ``V123%2F4`` would
    be looked up as two segments: no resource of ours has a slash in a segment."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if "%2f" in raw.partition("?")[0].lower():
        raise NotFound("a path segment holds an encoded slash (%2F); no resource has one")
    if isinstance(request.routing_exception, RequestRedirect):
        raise NotFound("no resource at this path")


def _finish(response: Response) -> Response:
    response.headers["traceparent"] = f"00-{g.trace_id}-{events.new_trace_id()[:16]}-01"
    # DUO's API answers with its own version (web/duo.py); every other answer with ours
    response.headers.setdefault(apidoc.VERSION_HEADER, current_app.config["API_VERSION"])
    if g.get("transaction_id"):
        response.headers[transaction.HEADER] = g.transaction_id
    route = request.url_rule.rule if request.url_rule else "(unrouted)"
    seconds = time.perf_counter() - g.started
    log.info(
        "request",
        method=request.method,
        path=route,
        status=response.status_code,
        code=g.get("problem_code"),
        ms=round(seconds * 1000, 2),
    )
    if current_app.config.get("METRICS"):
        from gateway import metrics

        metrics.observe(route, request.method, response.status_code, seconds,
                        g.get("problem_code"))  # fmt: skip
    return response


def _metrics() -> Response:
    """GET /metrics: Prometheus text, every worker's counts and the database's gauges."""
    from gateway import metrics
    from gateway.service import monitoring

    services = http.services()
    body = metrics.render(lambda: monitoring.state(services, http.now()))
    return Response(body, mimetype=metrics.CONTENT_TYPE.split(";")[0],
                    headers={"Cache-Control": "no-store"})  # fmt: skip
