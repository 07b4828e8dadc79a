"""``gateway connect municipality console``: start the console on this machine.

Prints one address with a fresh secret token (as Jupyter does); only a
browser given that address gets in. Serves on 127.0.0.1 only, with
Werkzeug's threaded server: one person's console, not a public site. Ctrl-C
or SIGTERM stops it after the request in hand; the store is consistent at
every moment, so a hard stop loses nothing either.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from connectors.client import GatewayClient
from connectors.console import web
from connectors.console.app import Console, create_app
from connectors.console.pulling import HOLD_DAYS, Puller, Round
from connectors.console.store import Store
from connectors.options import party_options


def serve(console: Console, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C, pulling in the background; ``port`` 0 takes a free one."""

    def stop() -> None:
        console.puller.stop()
        console.store.close()

    web.serve(create_app(console), console, port, "console", start=console.puller.start, stop=stop)


@click.command("console")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("console"),
    show_default=True,
    help="folder for the console's own store (what it pulled; as sensitive as the case system)",
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="port on 127.0.0.1 (0: any free one)",
)
@click.option(
    "--interval",
    default=300.0,
    show_default=True,
    type=click.FloatRange(5, 86400),
    help="seconds between pulls (the page has a 'pull now' button)",
)
@click.option(
    "--hold-days",
    default=HOLD_DAYS,
    show_default=True,
    type=click.IntRange(0, 365),
    help="days a delivery awaiting consent stays open to be pulled again",
)
@party_options
def console(data: Path, port: int, interval: float, hold_days: int, client: GatewayClient) -> None:
    """The municipality's console in the browser: newcomers, dossiers, actions, cohort
    figures. Runs on your machine with your key, and talks to the gateway only as every
    connector does."""
    start_console(client, data, port, interval=interval, hold_days=hold_days)


def start_console(
    client: GatewayClient, data: Path, port: int, *, interval: float, hold_days: int = HOLD_DAYS
) -> None:
    """The console over ``data`` (made mode 0700), served until stopped; exit 2 when the
    port cannot be had."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = Store(data / "console.sqlite3")

    def told(done: Round) -> None:
        click.echo(f"pull: {done.words()}", err=bool(done.problems))

    puller = Puller(client, store, interval, hold_days=hold_days, told=told)
    try:
        serve(
            Console(client=client, token=secrets.token_urlsafe(24), store=store, puller=puller),
            port,
        )
    except OSError as error:
        store.close()
        click.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror}", err=True)
        sys.exit(2)
