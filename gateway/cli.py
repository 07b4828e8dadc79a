"""The ``gateway`` command: serve, migrate, register parties and keys, demo.

Every change made here goes through the same services as the API and is
audited (party.registered, key.registered, key.revoked). The commands that
ship beside the server, the connectors' (``gateway connect …``, ``gateway
audit verify``) and the demo (``gateway demo``), plug in through the
``inburgering_gateway.commands`` entry points of the installed package, so
the server never imports its clients.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway import config
from gateway.continuity import backup_commands, secret_commands
from gateway.domain.audit import events
from gateway.domain.message import parse_time
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.vocabulary import ROLES
from gateway.domain.wire import jwk
from gateway.errors import GatewayError
from gateway.files.keys import load_jwk_file

if TYPE_CHECKING:
    from gateway.service.services import Services

PLUGINS = "inburgering_gateway.commands"


def _now() -> datetime:
    return datetime.now(UTC)


def _services() -> Services:
    """The services of the existing instance; without one, one line and exit 2.

    Never a new instance: this command run in the wrong folder would make
    one with new keys there, and register parties in a gateway nobody runs.
    """
    from gateway import instance
    from gateway.bootstrap import build_services
    from gateway.errors import ConfigurationError

    settings = config.from_env()
    try:
        instance.require(settings.instance)
    except ConfigurationError as error:
        click.echo(f"error: {error.detail}", err=True)
        sys.exit(2)
    return build_services(settings)


def _time(value: str | None) -> datetime | None:
    """An RFC 3339 option value with its zone. Raises click.BadParameter."""
    try:
        return None if value is None else parse_time(value)
    except GatewayError as error:
        raise click.BadParameter(error.detail) from None


class _Group(click.Group):
    """Domain errors end an operator's command with their code and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewayError as error:
            click.echo(f"error: {error.code}: {error.detail}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
def main() -> None:
    """Inburgering gateway: signed intake, consent-checked delivery, events."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="worker processes (default: CPU count)",
)
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="threads per worker"
)
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Run the gateway under gunicorn (exit 2 when the port or the instance folder is not
    usable); on the first start, make the instance (its keys) and say so in one line.
    Environment: GATEWAY_INSTANCE, GATEWAY_DATABASE_URL and the rest in
    docs/reference/settings.md."""
    from gateway import instance
    from gateway.errors import ConfigurationError
    from gateway.serving import check_port, prepare, run

    try:
        settings = config.from_env()
        check_port(host, port)
        new = len(instance.missing(settings.instance)) == len(instance.SECRETS)
        prepare(settings)
        if new:  # a line that cannot be written (stderr on a full disk) never stops serving
            with contextlib.suppress(OSError):
                click.echo(
                    f"new instance {settings.instance}: the gateway's keys were made there "
                    "(folder 0700, files 0600); keep it and back it up",
                    err=True,
                )
        run(host=host, port=port, workers=workers or os.cpu_count() or 2, threads=threads)
    except ConfigurationError as error:
        click.echo(f"error: {error.detail}", err=True)
        sys.exit(2)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations up to the newest (the embedded database: in the
    instance folder, made if need be; its keys come with the first `gateway serve`)."""
    from gateway import instance
    from gateway.bootstrap import migrate_database

    settings = config.from_env()
    if settings.embedded_database and instance.make_folder(
        settings.instance, embedded_database=True
    ):
        click.echo(f"new instance folder {settings.instance} (0700) for the embedded database; "
                   "`gateway serve` makes its keys on the first start", err=True)  # fmt: skip
    migrate_database(settings.database_url)
    click.echo("database at the newest revision")


@main.group()
def parties() -> None:
    """Registered organisations."""


@parties.command("add")
@click.option("--oin", required=True, help="20-digit OIN")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True)
@click.option("--municipality-code", default=None, help="GM + 4 digits (municipalities only)")
@click.option(
    "--cert-oin",
    default=None,
    help="the OIN its TLS client certificate carries, where not its own (Digikoppeling)",
)
def parties_add(
    oin: str, role: str, name: str, municipality_code: str | None, cert_oin: str | None
) -> None:
    """Register a party."""
    party = new_party(oin, role, name, municipality_code, cert_oin)
    from gateway.errors import Conflict
    from gateway.service import registry

    services = _services()
    try:
        registry.register_party(services, party, _now(), events.new_trace_id())
    except Conflict:
        if services.store.registry.find_party(oin) != party:
            raise  # another party under this OIN or code: the operator must look
        click.echo(f"{party.role} {party.oin} is registered already, as given; nothing changed")
        return
    click.echo(f"registered {party.role} {party.oin}")


@parties.command("list")
def parties_list() -> None:
    """List registered parties with their keys."""
    store = _services().store.registry
    keys_by_oin: dict[str, list[KeyRecord]] = {}
    for key in store.list_keys():
        keys_by_oin.setdefault(key.oin, []).append(key)
    now = _now()
    click.echo(f"{'OIN':<21}{'role':<13}{'code':<7}{'keys':<6}name")
    for party in store.list_parties():
        valid = sum(1 for k in keys_by_oin.get(party.oin, []) if k.is_valid_at(now))
        click.echo(
            f"{party.oin:<21}{party.role:<13}{party.municipality_code or '-':<7}"
            f"{valid:<6}{party.name}"
        )


@main.group()
def keys() -> None:
    """Parties' signing keys."""


@keys.command("generate")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind", default="Ed25519", type=click.Choice(["Ed25519", "P-256"]), show_default=True
)
def keys_generate(out: Path, kind: str) -> None:
    """Write a new private JWK (mode 0600) and print its public JWK; when OUT holds a
    private JWK already, print its public JWK (never a new key over it)."""
    from gateway.instance import write_private

    key = jwk.generate(kind)
    if not write_private(out, (json.dumps(jwk.private_jwk(key), indent=2) + "\n").encode()):
        try:
            key = load_jwk_file(str(out), private=True)
        except (GatewayError, ValueError, OSError):
            raise click.ClickException(f"{out} exists and is not a private JWK; not "
                                       "overwriting it") from None  # fmt: skip
        click.echo(f"{out} exists: its public JWK (no new key made)", err=True)
    click.echo(json.dumps(jwk.public_jwk(key), indent=2))


@keys.command("add")
@click.option("--oin", required=True)
@click.option("--jwk", "jwk_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--not-before", default=None, help="RFC 3339 (default: now)")
@click.option("--not-after", default=None, help="RFC 3339 (default: open)")
def keys_add(oin: str, jwk_path: str, not_before: str | None, not_after: str | None) -> None:
    """Register a party's public key."""
    key = load_jwk_file(jwk_path, private=False)
    now = _now()
    record = KeyRecord(
        kid=jwk.thumbprint(key),
        oin=oin,
        jwk=jwk.public_jwk(key),
        not_before=_time(not_before) or now,
        not_after=_time(not_after),
    )
    from gateway.errors import Conflict
    from gateway.service import registry

    services = _services()
    try:
        registry.register_key(services, record, now, events.new_trace_id())
    except Conflict:
        known = [k for k in services.store.registry.list_keys(oin) if k.kid == record.kid]
        if not known or known[0].revoked_at is not None:
            raise
        click.echo(f"key {record.kid} is registered already for {oin}; nothing changed")
        return
    click.echo(f"registered key {record.kid} for {oin}")


@keys.command("revoke")
@click.argument("kid")
def keys_revoke(kid: str) -> None:
    """Revoke a key from now on."""
    from gateway.service import registry

    registry.revoke_key(_services(), kid, _now(), events.new_trace_id())
    click.echo(f"revoked {kid}")


@main.group("audit")
def audit_group() -> None:
    """The audit log, seen from outside."""


@audit_group.command("report")
@click.argument("v_number")
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: report-<date>.html)",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(["nl", "en", "ar", "tr"]),
    default="nl",
    show_default=True,
    help="the report's language",
)
def audit_report(v_number: str, out: Path | None, language: str) -> None:
    """Write a newcomer's access report as HTML (for an access request handled by the
    operator; the placing municipality fetches it through the contract)."""
    from gateway.service.auditing import access_report

    now = _now()
    html, count = access_report(_services(), v_number, now, language)
    out = out or Path(f"report-{now:%Y%m%d-%H%M%S}.html")
    out.write_text(html, encoding="utf-8")
    click.echo(f"wrote {out} ({count} entries)")


def _add_plugins() -> None:
    """The plugged-in commands; a dotted name is a subcommand (``audit.verify``)."""
    for plugin in entry_points(group=PLUGINS):
        *path, name = plugin.name.split(".")
        group: click.Group = main
        for part in path:
            sub = group.commands[part]
            assert isinstance(sub, click.Group)
            group = sub
        group.add_command(plugin.load(), name)


@main.group()
def retention() -> None:
    """Erasure of newcomers' data when its retention ends."""


@retention.command("purge")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(0, 36500),
    help="days after the last acknowledged delivery",
)
@click.option("--dry-run", is_flag=True, help="count, erase nothing")
def retention_purge(days: int, dry_run: bool) -> None:
    """Crypto-shred newcomers whose deliveries were all acknowledged more than DAYS ago."""
    from datetime import timedelta

    now = _now()
    from gateway.service import registry

    count = registry.purge(_services(), now - timedelta(days=days), now, dry_run=dry_run)
    click.echo(f"{'would erase' if dry_run else 'erased'} the data of {count} newcomer(s)")


for _command in (*backup_commands.COMMANDS, *secret_commands.COMMANDS):
    main.add_command(_command)
_add_plugins()

if __name__ == "__main__":  # pragma: no cover
    main()
