"""``gateway connect municipality pin-issuer-key``: pin a new COA key, or see what is pinned.

A version-2 profile verifies only against COA keys this municipality pinned
(``connectors.common.issuers``); the first ones are pinned on first use. When COA
announces a new key (a rotation), the pull refuses profiles signed by it until the
operator, having compared its thumbprint with COA's announcement, pins it here. The key's
material comes from the gateway's key directory, but its kid is the thumbprint of that
material, so no other material passes for a compared thumbprint.
"""

from __future__ import annotations

from pathlib import Path

import click

from connectors.common.client import GatewayClient
from connectors.common.issuers import Pins, issuer_keys_option, published
from connectors.common.options import party_options


def _coa(client: GatewayClient) -> str:
    """COA's OIN from the directory, when exactly one party has its role."""
    found = [str(p["oin"]) for p in client.directory("coa")]
    if len(found) != 1:
        raise click.UsageError("give --issuer: COA's OIN (the directory does not name one COA)")
    return found[0]


@click.command("pin-issuer-key")
@click.option(
    "--kid",
    default=None,
    metavar="THUMBPRINT",
    help="the key to pin: its RFC 7638 thumbprint, as COA announced it (compare before you "
    "pin); without: list what is pinned and what the gateway publishes",
)
@click.option("--issuer", default=None, metavar="OIN", help="COA's OIN (default: the directory's)")
@issuer_keys_option
@party_options
def pin_issuer_key(
    kid: str | None, issuer: str | None, issuer_keys: Path, client: GatewayClient
) -> None:
    """Pin a COA key, after comparing its thumbprint with COA's announcement, so that
    version-2 profiles (COA's SD-JWT) signed by it are verified and kept; without --kid,
    list the keys pinned and the ones the gateway publishes for COA."""
    pins = Pins(issuer_keys)
    oin = issuer or _coa(client)
    if kid is None:
        pinned = pins.pinned()
        click.echo(f"pinned in {pins.where()}:")
        for one, kids in sorted(pinned.items()):
            click.echo(f"  {one}: {', '.join(kids)}")
        if not pinned:
            click.echo("  nothing yet (the first version-2 profile pulled pins COA's keys)")
        mine = set(pinned.get(oin, []))
        click.echo(f"the gateway publishes for {oin}:")
        for one in sorted(published(client, oin)):
            click.echo(f"  {one} ({'pinned' if one in mine else 'not pinned'})")
        return
    if pins.pin(client, oin, kid):
        click.echo(f"pinned {kid} for {oin} in {pins.where()}")
    else:
        click.echo(f"{kid} was pinned for {oin} already ({pins.where()})")
