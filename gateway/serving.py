"""Serving under gunicorn, configured in code.

The instance secrets and the embedded database's migrations are prepared in
the master before the workers fork, so workers never race to make them.
Each worker builds its own services and app (no preload), its checkpointer
thread started there: no database connection, thread or random state is
shared across a fork. The database is opened and migrated by the composition
root (``gateway.bootstrap``) only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy.engine import make_url

from gateway import config
from gateway.errors import ConfigurationError
from gateway.instance import load_secrets


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from gateway.bootstrap import build_services
        from gateway.web.app import create_app

        return create_app(build_services(config.from_env(), checkpointer=True))


def prepare(settings: config.Settings) -> None:
    """Make the instance secrets and migrate the embedded database, once.

    Raises ConfigurationError, in one line saying what to do, when the
    instance folder cannot be made or written.
    """
    from gateway.bootstrap import migrate_database

    try:
        load_secrets(settings.instance)
        if settings.is_sqlite:
            migrate_database(settings.database_url)
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise ConfigurationError(
            f"instance folder {settings.instance}: {why.lower()}; set GATEWAY_INSTANCE to a "
            "folder this user may create and write"
        ) from None


def check_port(host: str, port: int) -> None:
    """Raises ConfigurationError when ``host:port`` cannot be bound (in use, not ours).

    Gunicorn would try five times and print its own errors; one line that
    says what to do serves an operator better.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                why = "is in use (another gateway?); stop that one or give --port"
            else:
                why = f"cannot be bound ({(error.strerror or '').lower()}); check --host"
            raise ConfigurationError(f"{host}:{port} {why}") from None


def introduction(
    settings: config.Settings, host: str, port: int, workers: int, threads: int
) -> str:
    """The one line ``gateway serve`` starts with: where, what, with which database."""
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    return (
        f"gateway serving http://{host}:{port}/ with {workers} workers x {threads} threads; "
        f"instance {settings.instance}; database {database}"
    )


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    """Raises ConfigurationError when the instance folder or the port is not usable."""
    settings = config.from_env()
    check_port(host, port)
    prepare(settings)
    if settings.metrics:
        _metrics_folder(settings.instance / "metrics")
    with contextlib.suppress(OSError):  # an unwritable stdout (full disk) never stops it
        print(introduction(settings, host, port, workers, threads), flush=True)
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            # gthread, each request read under a deadline (slowclients.py); the bench
            # compares gunicorn's own with GATEWAY_WORKER_CLASS=sync|gthread
            "worker_class": os.environ.get("GATEWAY_WORKER_CLASS")
            or "gateway.slowclients.BoundedThreadWorker",
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "limit_request_line": 4094,
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
            "max_requests": 100_000,
            "max_requests_jitter": 10_000,
            "accesslog": None,  # the app logs each request as structured JSON
            "errorlog": "-",
            "loglevel": "warning",
            "child_exit": _child_exit,
        }
    ).run()


def _metrics_folder(folder: Path) -> None:
    """An empty folder for the workers' sample files, named in the environment before
    any worker forks (and before prometheus-client is imported: it reads it then)."""
    assert "prometheus_client" not in sys.modules, "prometheus-client imported too early"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from gateway import metrics

        metrics.worker_exited(worker.pid)
