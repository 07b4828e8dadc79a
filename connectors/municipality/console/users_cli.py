"""``gateway connect municipality console-users``: the console's accounts, on the command line.

The first administrator can only be made here (the console has no sign-up
page); after that an administrator may make the others here too. A
password is asked at the prompt, twice, or read from
``GATEWAY_CONSOLE_PASSWORD`` for scripts and tests: never from the command
line, where it would stay in the shell's history and the process list.
Needs only the console's folder, not the party's key.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from connectors.municipality.console.users import ROLES, Users

FROM_ENVIRONMENT = "GATEWAY_CONSOLE_PASSWORD"

data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("console"),
    show_default=True,
    help="the console's folder (as given to `console --data`)",
)


def _users(data: Path) -> Users:
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Users(data / "console.sqlite3")


@click.group("console-users")
def console() -> None:
    """The console's users: each signs in as themselves, in a role (client-manager,
    policy-officer, administrator). The first user turns sign-in on."""


@console.command("add")
@data_option
@click.option("--name", required=True, help="the name the console shows (e.g. 'M. de Vries')")
@click.option("--role", required=True, type=click.Choice(ROLES))
def add(data: Path, name: str, role: str) -> None:
    """Make a user; the password is asked twice (or read from GATEWAY_CONSOLE_PASSWORD)."""
    password = os.environ.get(FROM_ENVIRONMENT) or click.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    users = _users(data)
    try:
        user = users.add(name, role, password)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    finally:
        users.close()
    click.echo(f"made {user.role} {user.name}")


@console.command("list")
@data_option
def listed(data: Path) -> None:
    """Every user: name, role, and whether the account is in use."""
    users = _users(data)
    try:
        for user in users.all():
            click.echo(f"{user.name}\t{user.role}\t{'active' if user.active else 'disabled'}")
    finally:
        users.close()


@console.command("disable")
@data_option
@click.option("--name", required=True)
def disable(data: Path, name: str) -> None:
    """The user can no longer sign in (kept, so what they did keeps their name)."""
    users = _users(data)
    try:
        if not users.disable(name):
            raise click.UsageError(f"no active user named {name!r}")
    finally:
        users.close()
    click.echo(f"disabled {name}")
