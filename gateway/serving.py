"""Serving under gunicorn, configured in code.

The instance secrets and the embedded database's migrations are prepared in
the master before the workers fork, so workers never race to make them.
Each worker builds its own app (no preload): no database connection or
random state is shared across a fork.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from gateway import config
from gateway.instance import load_secrets
from gateway.storage import migrate
from gateway.storage.engine import make_engine


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

        return create_app(build_services(config.from_env()))


def prepare(settings: config.Settings) -> None:
    """Make the instance secrets and migrate the embedded database, once."""
    load_secrets(settings.instance)
    if settings.is_sqlite:
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
        engine.dispose()


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    prepare(config.from_env())
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
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
        }
    ).run()
