"""A WSGI entry point for servers other than ``gateway serve`` (``gateway.wsgi:app``).

The instance's secrets must exist first (``gateway serve`` makes them before
its workers fork; elsewhere run ``gateway db upgrade`` once); each process
that imports this builds its own services and starts its checkpointer thread.
"""

from __future__ import annotations

from gateway import config
from gateway.bootstrap import build_services
from gateway.web.app import create_app

app = create_app(build_services(config.from_env(), checkpointer=True))
