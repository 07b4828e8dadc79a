"""What every connector command shares: the party options, times, errors, the newcomer.

Every command takes the party's gateway URL, OIN and private JWK from
options or from the environment (``GATEWAY_URL``, ``GATEWAY_OIN``,
``GATEWAY_KEY``), so a scheduled job needs no secrets on its command line;
behind a Digikoppeling front also its TLS client certificate (``GATEWAY_CERT``,
``GATEWAY_CERT_KEY``, ``GATEWAY_CA``).
Imports no Flask.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import stat
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from connectors.common.client import GatewayClient, check_url
from connectors.common.tls import Tls
from gateway.client import wire
from gateway.errors import GatewayError

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False)
_TLS_OPTIONS = [
    click.option(
        "--cert",
        "cert_path",
        envvar="GATEWAY_CERT",
        show_envvar=True,
        type=_FILE,
        help="your party's TLS client certificate (PEM), where the gateway's front asks "
        "for one (Digikoppeling)",
    ),
    click.option(
        "--cert-key",
        "cert_key_path",
        envvar="GATEWAY_CERT_KEY",
        show_envvar=True,
        type=_FILE,
        help="the certificate's private key (PEM, mode 0600)",
    ),
    click.option(
        "--ca",
        "ca_path",
        envvar="GATEWAY_CA",
        show_envvar=True,
        type=_FILE,
        help="CA bundle (PEM) to check the gateway's server certificate with",
    ),
]
"""A party's TLS client certificate, where the gateway is behind a Digikoppeling front"""


def party_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --oin, --key, --retries (and the TLS options) on a command, handed to it as
    one ``client``.

    Each may come from the environment instead (``--help`` names the
    variable). The OIN and the URL's form are checked here, before anything
    is sent; the key file must hold a private JWK, and one others may read
    is warned about. Then one request checks that a gateway answers at the
    URL (a wrong base path, a server that is not a gateway: one line, exit 2).
    """
    decorators = [
        click.option("--url", envvar="GATEWAY_URL", show_envvar=True, help="gateway base URL"),
        click.option("--oin", envvar="GATEWAY_OIN", show_envvar=True, help="your party's OIN"),
        click.option(
            "--key",
            "key_path",
            envvar="GATEWAY_KEY",
            show_envvar=True,
            type=click.Path(exists=True, dir_okay=False),
            help="your party's private JWK (mode 0600)",
        ),
        *_TLS_OPTIONS,
        click.option(
            "--retries",
            default=8,
            show_default=True,
            type=click.IntRange(0, 30),
            help="attempts again on connection errors and 429/502/503/504, with backoff",
        ),
    ]

    @functools.wraps(func)
    def with_client(
        *args: Any, url: str | None, oin: str | None, key_path: str | None, retries: int, **kw: Any
    ) -> Any:
        tls = _tls(kw.pop("cert_path"), kw.pop("cert_key_path"), kw.pop("ca_path"))
        for value, option, variable in ((url, "--url", "GATEWAY_URL"),
                                        (oin, "--oin", "GATEWAY_OIN"),
                                        (key_path, "--key", "GATEWAY_KEY")):  # fmt: skip
            if not value:
                raise click.UsageError(f"give {option} or set {variable}")
        assert url and oin and key_path
        if not _OIN.fullmatch(oin):
            raise click.BadParameter(
                f"an OIN is 20 digits; this is {len(oin)} characters", param_hint="--oin"
            )
        base = check_url(url)
        key = _private_key(key_path)
        client = GatewayClient(base, oin, key, retries=retries, on_retry=_tell, tls=tls)
        client.probe()
        return func(*args, client=client, **kw)

    command: Callable[..., Any] = with_client
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


_OIN = re.compile(r"[0-9]{20}")


def _tls(cert: str | None, key: str | None, ca: str | None) -> Tls | None:
    """The TLS options as one value; None when none was given. Raises click.UsageError
    for a key without its certificate."""
    if key and not cert:
        raise click.UsageError("--cert-key without --cert: give the certificate too")
    return Tls(cert, key, ca) if cert or ca else None


def _private_key(path: str) -> wire.Key:
    """The party's private key from ``path``. Raises click.BadParameter naming the file."""
    try:
        key = wire.load_jwk_file(path, private=True)
    except GatewayError as error:
        why = error.detail
        if why == "private JWK expected":
            why = "holds a public JWK; give your party's private JWK (gateway keys generate)"
        raise click.BadParameter(f"{path}: {why}", param_hint="--key") from None
    except ValueError:
        raise click.BadParameter(f"{path}: not a JWK (JSON)", param_hint="--key") from None
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        click.echo(f"warning: {path} may be read by others (mode {mode:04o}); chmod 600 {path}",
                   err=True)  # fmt: skip
    return key


def _tell(what: str) -> None:
    click.echo(what, err=True)


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 option value with its zone, as UTC. Raises click.BadParameter."""
    try:
        return None if value is None else wire.parse_time(value)
    except GatewayError as error:
        raise click.BadParameter(error.detail) from None


class DomainErrorGroup(click.Group):
    """Domain errors end the command with their code and message, not a traceback."""

    exit_status = 2  # a connector's "stopped": see the module docstring

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewayError as error:
            click.echo(f"error: {error.code}: {error.detail}", err=True)
            sys.exit(self.exit_status)


class LazyGroup(DomainErrorGroup):
    """A group with commands imported only when run (``lazy``: name → module whose
    ``console`` is the command): the consoles bring Flask, the other commands start
    without it."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            found = importlib.import_module(self.lazy[name]).console
            return found if isinstance(found, click.Command) else None
        return super().get_command(ctx, name)


class DefaultGroup(DomainErrorGroup):
    """A group whose first argument, when it names no subcommand, goes to a default one.

    ``gateway connect provider reports.csv`` stays what it was before the
    group had a ``pull``: ``provider send reports.csv``.
    """

    def __init__(self, *args: Any, default_command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


_subject_options = [
    click.option("--v-number", required=True, help="the newcomer's V-nummer"),
    click.option("--bsn", default=None, help="the newcomer's BSN, if known"),
]


def subject_options(func: F) -> F:
    for decorator in reversed(_subject_options):
        func = decorator(func)
    return func


def unreachable(why: str) -> None:
    click.echo(f"gateway unreachable ({why}); trying again next round", err=True)
