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
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from connectors.common.client import GatewayClient
from connectors.consoles import web
from connectors.consoles.options import console_options
from connectors.municipality.console.app import create_app
from connectors.municipality.console.party import Console
from connectors.municipality.console.provider import OPTIONS, ProviderSettings, settings_from
from connectors.municipality.console.pulling import PROGRESS_MAX_AGE, Puller, Round
from connectors.municipality.console.store import Store
from connectors.municipality.console.users import Users


def serve(console: Console, port: int, provider: ProviderSettings | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C, pulling in the background; ``port`` 0 takes a free one."""

    def stop() -> None:
        console.puller.stop()
        console.store.close()
        if console.users is not None:
            console.users.close()

    app = create_app(console, provider=provider)
    web.serve(app, console, port, "console", start=console.puller.start, stop=stop)


@click.command("console")
@console_options(
    data="console",
    data_help="folder for the console's own store (what it pulled; as sensitive as the case "
    "system)",
    port=8765,
    interval=300.0,
    interval_help="seconds between pulls (the page has a 'pull now' button)",
    own=(
        click.option(
            "--hold-days",
            default=None,
            type=click.IntRange(0, 365),
            hidden=True,
            deprecated="ignored: a consent recorded later brings the data again at the next pull",
            help="no longer used (deliveries are acknowledged at once; the gateway hands a "
            "message out again when a later consent releases more of it)",
        ),
        click.option(
            "--progress-max-age",
            default=PROGRESS_MAX_AGE / timedelta(hours=1),
            show_default=True,
            type=click.FloatRange(0, 24 * 366),
            metavar="HOURS",
            help="hours a newcomer's progress read stays shown before the console reads it "
            "again (each read is a line in the newcomer's access report; a dossier has a button "
            "to read it now; 0: at every view)",
        ),
        click.option(
            "--staff-name",
            envvar="GATEWAY_STAFF_NAME",
            default="",
            metavar="NAME",
            help="who works at this console, named on confirmation pages and beside what this "
            "console did (kept here, never sent to the gateway; default: the municipality's "
            "name); once `console-users add` made accounts, each person signs in instead",
        ),
        *OPTIONS,
    ),
)
def console(
    data: Path,
    port: int,
    interval: float,
    hold_days: int | None,
    progress_max_age: float,
    staff_name: str,
    client: GatewayClient,
    **oidc: Any,
) -> None:
    """The municipality's console in the browser: newcomers, dossiers, actions, cohort
    figures. Runs on your machine with your key, and talks to the gateway only as every
    connector does."""
    del hold_days  # deprecated: accepted so that existing start scripts keep working
    provider = settings_from(**oidc)
    start_console(
        client,
        data,
        port,
        interval=interval,
        progress_max_age=timedelta(hours=progress_max_age),
        staff_name=staff_name.strip(),
        provider=provider,
    )


def start_console(
    client: GatewayClient,
    data: Path,
    port: int,
    *,
    interval: float,
    progress_max_age: timedelta = PROGRESS_MAX_AGE,
    staff_name: str = "",
    provider: ProviderSettings | None = None,
) -> None:
    """The console over ``data`` (made mode 0700), served until stopped; exit 2 when the
    port cannot be had."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = Store(data / "console.sqlite3")

    def told(done: Round) -> None:
        click.echo(f"pull: {done.words()}", err=bool(done.problems))

    puller = Puller(client, store, interval, progress_max_age=progress_max_age, told=told)
    console = Console(
        client=client,
        token=secrets.token_urlsafe(24),
        store=store,
        puller=puller,
        progress_max_age=progress_max_age,
        staff_name=staff_name,
        users=Users(data / "console.sqlite3"),
        provider_signin=provider is not None,
    )
    try:
        serve(console, port, provider)
    except OSError as error:
        store.close()
        click.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror}", err=True)
        sys.exit(2)
