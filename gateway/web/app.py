"""The Flask app factory: settings, secrets, schemas, storage and blueprints.

Kept apart from ``gateway/__init__.py`` so that importing the envelope or
any other core module never imports Flask.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Flask, Response, g, request
from flask_smorest import Api

from gateway import config, logs
from gateway.domain.audit import events
from gateway.domain.schemas import load_catalog
from gateway.domain.vault import Vault
from gateway.domain.wire.envelope import Signer
from gateway.instance import load_secrets
from gateway.service.checkpointer import Checkpointer
from gateway.service.intake import Services
from gateway.storage import migrate
from gateway.storage.auditlog import AuditLog
from gateway.storage.db import make_engine
from gateway.storage.store import Store
from gateway.web import audit as audit_api
from gateway.web import consents, directory, inbox, messages, meta, problems

log = logs.get("gateway.http")


def build_services(settings: config.Settings, *, upgrade: bool | None = None) -> Services:
    """Everything a request needs, built once per process."""
    secrets = load_secrets(settings.instance)
    engine = make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if upgrade if upgrade is not None else settings.is_sqlite:
        migrate.upgrade(engine)
    store = Store(engine, Vault(secrets.master_key), secrets.pseudonym_key)
    signer = Signer(secrets.signing_key, alg="EdDSA")
    origin = settings.log_origin or f"inburgering-gateway/{signer.kid[:16]}"
    return Services(
        settings=settings,
        catalog=load_catalog(),
        store=store,
        signer=signer,
        auditlog=AuditLog(engine, signer, origin),
    )


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` may carry ``SETTINGS`` (a config.Settings)."""
    logs.configure()
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        API_TITLE="Inburgering gateway",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=None,  # bodies are read by gateway.api.http.read_body
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    settings = app.config.get("SETTINGS") or config.from_env()
    services = build_services(settings)
    checkpointer = Checkpointer(
        services.auditlog, settings.checkpoint_interval, settings.checkpoint_grace
    )
    app.extensions["gateway"] = dataclasses.replace(services, checkpointer=checkpointer)
    if app.config.get("CHECKPOINT_THREAD", True):
        checkpointer.start()

    api = Api(
        app,
        spec_kwargs={
            "info": {
                "description": "Data-exchange and consent gateway "
                "for Dutch civic integration. Contract: docs/interface.md"
            }
        },
    )
    api.register_blueprint(meta.blp)
    api.register_blueprint(messages.blp)
    api.register_blueprint(audit_api.blp)
    api.register_blueprint(consents.blp)
    api.register_blueprint(inbox.blp)
    api.register_blueprint(directory.blp)
    problems.init_app(app)  # after Api(), which registers handlers of its own

    app.before_request(_start)
    app.after_request(_finish)
    return app


def _start() -> None:
    g.started = time.perf_counter()
    g.trace_id = events.trace_id_from(request.headers.get("traceparent"))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(trace_id=g.trace_id)


def _finish(response: Response) -> Response:
    response.headers["traceparent"] = f"00-{g.trace_id}-{events.new_trace_id()[:16]}-01"
    log.info(
        "request",
        method=request.method,
        path=request.url_rule.rule if request.url_rule else "(unrouted)",
        status=response.status_code,
        code=g.get("problem_code"),
        ms=round((time.perf_counter() - g.started) * 1000, 2),
    )
    return response
