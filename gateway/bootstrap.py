"""The one place that wires storage into the services.

Settings and the instance's secrets in, a ``Services`` out: the engine, the
stores on it, the schemas and policy, the gateway's signing key and the
checkpoint signer. The web app, the command line, the tests and the
benchmarks all build their services here, so there is one composition.
"""

from __future__ import annotations

from gateway import config
from gateway.domain.schemas import load_catalog
from gateway.domain.vault import Vault
from gateway.domain.wire.envelope import Signer
from gateway.instance import load_secrets
from gateway.service.checkpointer import CheckpointSigner
from gateway.service.services import Services
from gateway.storage import migrate
from gateway.storage.engine import make_engine
from gateway.storage.store import Store


def build_services(settings: config.Settings, *, upgrade: bool | None = None) -> Services:
    """Everything a request needs, built once per process.

    ``upgrade`` runs the migrations first (default: on the embedded SQLite).
    """
    secrets = load_secrets(settings.instance)
    engine = make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if upgrade if upgrade is not None else settings.is_sqlite:
        migrate.upgrade(engine)
    store = Store(engine, Vault(secrets.master_key))
    signer = Signer(secrets.signing_key, alg="EdDSA")
    origin = settings.log_origin or f"inburgering-gateway/{signer.kid[:16]}"
    return Services(
        settings=settings,
        catalog=load_catalog(),
        store=store,
        signer=signer,
        pseudonym_key=secrets.pseudonym_key,
        checkpoints=CheckpointSigner(store.audit, signer, origin),
    )


def storage_of(services: Services) -> Store:
    """The concrete store behind the services' ports (tests, demo, benchmarks)."""
    assert isinstance(services.store, Store)
    return services.store
