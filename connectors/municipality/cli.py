"""``gateway connect municipality …``: the municipality's commands.

``console`` is imported by name only when it is run, so every other
command starts without Flask.
"""

from __future__ import annotations

import click

from connectors.common.commands import pull_command
from connectors.common.options import LazyGroup
from connectors.common.sinks import delivery_file
from connectors.municipality import actions_cli
from connectors.municipality.duo_cli import duo_export, duo_fetch, duo_send
from connectors.municipality.pin_cli import pin_issuer_key
from connectors.municipality.records_cli import consents
from connectors.municipality.regie_cli import signals


@click.group(
    "municipality",
    cls=LazyGroup,
    lazy={
        "console": "connectors.municipality.console.command",
        "console-users": "connectors.municipality.console.users_cli",
    },
)
def municipality() -> None:
    """Pull the inbox into the case system (verifying COA's own signature on a version-2
    profile, against COA's keys pinned here); record consent, assignments and plans; see
    your newcomers' signals; write or send DUO's requests; fetch DUO's facts."""


municipality.add_command(consents)
municipality.add_command(actions_cli.assign)
municipality.add_command(actions_cli.plan)
municipality.add_command(actions_cli.declare)
municipality.add_command(actions_cli.withdraw)
municipality.add_command(signals)
municipality.add_command(duo_export)
municipality.add_command(duo_send)
municipality.add_command(duo_fetch)
municipality.add_command(pin_issuer_key)
municipality.add_command(
    pull_command(
        "Verify, keep, then acknowledge every delivery in the inbox; a version-2 profile "
        "(COA's SD-JWT) is verified against COA's pinned key too, and kept with the body "
        "COA signed and coa_signature.",
        delivery_file,
        coa_signed=True,
    )
)
