"""The composition root: the one module that opens the database and wires the services.

Settings and the instance's secrets in, a ``Services`` out: the engine, the
stores on it, the schemas and policy, the gateway's signing key, the
checkpoint signer and, for a serving process, the checkpointer. The command
line, the server (each gunicorn worker, ``gateway.wsgi``), the devtools, the
tests and the benchmarks all build their services here, so there is one
composition to read and to change.

No other module opens an engine or migrates (``lint-imports`` keeps the web
and the services from storage; review keeps the rest). What needs a bare
database without services asks here too: ``migrate_database`` for a command,
a benchmark or a test's template database; ``open_engine`` for the engine
the settings describe. A test or a benchmark hands in another store (a fake)
through ``build_services``' ``store_factory``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import Engine

from gateway import config
from gateway.domain.audit import checkpoints
from gateway.domain.keyring import SigningKeys
from gateway.domain.schemas import Catalog
from gateway.domain.vault import Vault
from gateway.domain.wire.envelope import Signer
from gateway.domain.wire.jwk import thumbprint
from gateway.files import report as report_files
from gateway.files.schemas import load_catalog, processing_activities
from gateway.instance import load_secrets
from gateway.ldv.logbook import JsonLinesExporter, Logbook
from gateway.ldv.records import Activities
from gateway.service import ports
from gateway.service.checkpointer import Checkpointer, CheckpointSigner
from gateway.service.cosigning import Cosigning, Witness
from gateway.service.ldvexport import LogbookExport
from gateway.service.logbook import Guarded
from gateway.service.services import Services
from gateway.storage import migrate
from gateway.storage.engine import make_engine
from gateway.storage.store import Store
from gateway.witnesscalls import HttpWitnesses

StoreFactory = Callable[[config.Settings, Vault], ports.Store]
"""Makes the store the services use, from the settings and the instance's vault."""


def open_engine(settings: config.Settings) -> Engine:
    """The engine of the settings' database, its pool and busy timeout as configured."""
    return make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


def migrate_database(url: str) -> None:
    """Bring the database at ``url`` to the newest revision, on an engine of its own.

    The engine is the storage's default one (not the settings' pool and lock
    timeout, which size a serving process) and is disposed afterwards, so a
    process that forks workers next shares no connection with them.
    """
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def open_store(settings: config.Settings, vault: Vault, *, upgrade: bool | None = None) -> Store:
    """The real store (the default ``StoreFactory``) on a new engine of the settings.

    ``upgrade`` runs the migrations first (default: on the embedded SQLite,
    which has no operator to run ``gateway db upgrade``).
    """
    engine = open_engine(settings)
    if upgrade if upgrade is not None else settings.is_sqlite:
        migrate.upgrade(engine)
    return Store(engine, vault)


def build_services(
    settings: config.Settings,
    *,
    store_factory: StoreFactory | None = None,
    upgrade: bool | None = None,
    checkpointer: bool = False,
    catalog: Catalog | None = None,
) -> Services:
    """Everything a request needs, built once per process.

    ``store_factory`` makes the store (default: ``open_store``, which alone
    heeds ``upgrade``); ``catalog`` is the schemas and policy (default: the
    installed ones, read here), for a test that reads them once a session.
    ``checkpointer`` adds the serving processes' ``Checkpointer``: intake's
    fail-closed guard, and the thread the web app starts. Only a process
    that serves builds one: in a command, a benchmark or a test that calls
    the use cases directly no thread would sign checkpoints, and the guard
    would stop intake after the grace.
    """
    secrets = load_secrets(settings.instance)
    vault = Vault(secrets.master_keys)
    if store_factory is None:
        store: ports.Store = open_store(settings, vault, upgrade=upgrade)
    else:
        store = store_factory(settings, vault)
    logbook = None
    if settings.ldv_path is not None:
        logbook = LogbookExport(store.ldv, open_logbook(settings), settings.ldv_grace)
        store = Guarded(store, logbook)
    keys = secrets.signing_keys
    signer = Signer(keys.active, alg="EdDSA")
    services = Services(
        settings=settings,
        catalog=load_catalog() if catalog is None else catalog,
        store=store,
        signer=signer,
        pseudonym_key=secrets.pseudonym_key,
        checkpoints=CheckpointSigner(
            store.audit, signer, log_origin(settings, keys), cosigners=keys.overlap
        ),
        report=report_files.renderer(),
        keyring=keys,
        logbook=logbook,
    )
    return with_checkpointer(services) if checkpointer else services


def log_origin(settings: config.Settings, keys: SigningKeys) -> str:
    """The checkpoint notes' origin: GATEWAY_LOG_ORIGIN, or the one a rotated key set keeps,
    or one named after the instance's first key (so a rotation never changes it: the key
    set takes its origin along from the first rotation on, ``gateway secrets``)."""
    first = f"inburgering-gateway/{thumbprint(keys.active)[:16]}"
    return settings.log_origin or keys.origin or first


def note_vkey(settings: config.Settings) -> str:
    """The instance's note verifier key, its secrets made where missing: what a witness is
    told before the gateway first serves (``gateway demo``)."""
    keys = load_secrets(settings.instance).signing_keys
    return checkpoints.vkey(log_origin(settings, keys), keys.active)


def open_logbook(settings: config.Settings) -> Logbook:
    """The Logboek Dataverwerkingen of the settings: the JSON lines file, the policy's
    processing activities under the operator's register (GATEWAY_LDV_ACTIVITY_BASE)."""
    assert settings.ldv_path is not None
    activities = Activities(settings.ldv_activity_base, processing_activities())
    return Logbook(JsonLinesExporter(settings.ldv_path), activities)


def with_checkpointer(services: Services) -> Services:
    """``services`` as a serving process has them: the same store, group commit and
    rate limiter, with a ``Checkpointer`` (its thread not started; the web app starts it).

    For a test that serves an app over services it also calls directly: the
    guard stands in the app's requests only, as it did when the app made it.
    """
    settings = services.settings
    policy = settings.witness_policy
    entries = policy.witnesses.values() if policy else []
    witnesses = [Witness(key, (url or "").rstrip("/") + "/") for key, url in entries]
    cosigning = Cosigning(services.store.audit, services.store.witnesses,
                          services.checkpoints.origin, witnesses, HttpWitnesses())  # fmt: skip
    made = Checkpointer(services.checkpoints, settings.checkpoint_interval,
                        settings.checkpoint_grace, cosigning=cosigning)  # fmt: skip
    return dataclasses.replace(services, checkpointer=made)


def storage_of(services: Services) -> Store:
    """The concrete store behind the services' ports (tests, demo, benchmarks), under
    the logbook's ``Guarded`` where the LDV is on."""
    store = services.store.inner if isinstance(services.store, Guarded) else services.store
    assert isinstance(store, Store)
    return store
