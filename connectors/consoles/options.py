"""The options every console command takes, in the order ``--help`` shows them.

Both consoles keep a folder of their own (``--data``), serve on one port of
127.0.0.1 (``--port``), do their background work every ``--interval``
seconds, and take the party options of every connector; what differs is
their defaults and words, and the options of their own, which stand between
these and the party's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connectors.common.options import party_options

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def port_option(default: int, help_text: str = "port on 127.0.0.1 (0: any free one)") -> Decorator:
    """``--port``: one port of 127.0.0.1 (a console is one person's, never a public site)."""
    return click.option(
        "--port", default=default, show_default=True, type=click.IntRange(0, 65535), help=help_text
    )


def console_options(
    *,
    data: str,
    data_help: str,
    port: int,
    interval: float,
    interval_help: str,
    own: tuple[Decorator, ...] = (),
) -> Decorator:
    """``--data``, ``--port``, ``--interval``, the console's ``own`` options, then the
    party options (``--url``, ``--oin``, ``--key``, ``--retries``: a ``client``)."""
    decorators: list[Decorator] = [
        click.option(
            "--data",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path(data),
            show_default=True,
            help=data_help,
        ),
        port_option(port),
        click.option(
            "--interval",
            default=interval,
            show_default=True,
            type=click.FloatRange(5, 86400),
            help=interval_help,
        ),
        *own,
        party_options,
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate
