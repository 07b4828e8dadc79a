"""``gateway connect <party> …``: the connectors as commands each party runs.

Every command takes the party's gateway URL, OIN and private JWK from
options or from the environment (``GATEWAY_URL``, ``GATEWAY_OIN``,
``GATEWAY_KEY``), so a scheduled job needs no secrets on its command line.

Exit status: 0 when everything went through; 1 when some rows were refused
or could not be read (the rest went through); 2 when the run stopped early
(gateway away too long, our key refused; run it again to resume) or the
audit log does not verify. Imports no Flask.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from connectors.client import GatewayClient
from gateway.domain import message
from gateway.domain.wire import jwk
from gateway.errors import GatewayError

F = TypeVar("F", bound=Callable[..., Any])


def party_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --oin, --key and --retries on a command, handed to it as one ``client``."""
    decorators = [
        click.option("--url", envvar="GATEWAY_URL", required=True, help="gateway base URL"),
        click.option("--oin", envvar="GATEWAY_OIN", required=True, help="your party's OIN"),
        click.option(
            "--key",
            "key_path",
            envvar="GATEWAY_KEY",
            required=True,
            type=click.Path(exists=True, dir_okay=False),
            help="your party's private JWK (mode 0600)",
        ),
        click.option(
            "--retries",
            default=8,
            show_default=True,
            type=click.IntRange(0, 30),
            help="attempts again on connection errors and 429/502/503/504, with backoff",
        ),
    ]

    @functools.wraps(func)
    def with_client(*args: Any, url: str, oin: str, key_path: str, retries: int, **kw: Any) -> Any:
        key = jwk.load_jwk_file(key_path, private=True)
        return func(*args, client=GatewayClient(url, oin, key, retries=retries), **kw)

    command: Callable[..., Any] = with_client
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 option value with its zone, as UTC. Raises click.BadParameter."""
    try:
        return None if value is None else message.parse_time(value)
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


@click.group(cls=DomainErrorGroup)
def connect() -> None:
    """The connectors each party runs: coa, provider, municipality, auditor."""


# -- sending parties -----------------------------------------------------------------

_file_argument = click.argument(
    "source", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_receipts_option = click.option(
    "--receipts",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="receipts file (JSON Lines); default SOURCE.receipts.jsonl; kept to resume",
)
_workers_option = click.option(
    "--workers", default=4, show_default=True, type=click.IntRange(1, 32), help="parallel sends"
)
_progress_option = click.option(
    "--progress/--no-progress", default=None, help="progress bar (default: on a terminal)"
)


def _finish(summary: Any) -> None:
    for line in summary.lines():
        click.echo(line)
    sys.exit(2 if summary.stopped else 1 if summary.failed else 0)


def _sending_command(name: str, help_text: str, send: Callable[..., Any]) -> None:
    """``gateway connect coa|provider SOURCE``: the same options, another message type."""

    @connect.command(name, help=help_text)
    @_file_argument
    @_receipts_option
    @_workers_option
    @_progress_option
    @party_options
    def command(
        source: Path,
        receipts: Path | None,
        workers: int,
        progress: bool | None,
        client: GatewayClient,
    ) -> None:
        _finish(send(client, source, receipts=receipts, workers=workers, progress=progress))


def _send_export(*args: Any, **kwargs: Any) -> Any:
    from connectors.coa import send_export

    return send_export(*args, **kwargs)


def _send_reports(*args: Any, **kwargs: Any) -> Any:
    from connectors.provider import send_reports

    return send_reports(*args, **kwargs)


_sending_command(
    "coa", "Send a COA export (CSV or JSON Lines) as handover profiles; resumable.", _send_export
)
_sending_command(
    "provider",
    "Send progress reports: an export (CSV, JSON Lines) or one report (.json); resumable.",
    _send_reports,
)


# -- municipality --------------------------------------------------------------------


@connect.group("municipality")
def municipality() -> None:
    """Pull the inbox into the case system; record consent and assignments."""


@municipality.command("pull")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="folder for the deliveries (one <delivery_id>.json each)",
)
@click.option("--webhook", default=None, help="or: the case system's local URL to POST each to")
@click.option("--follow", is_flag=True, help="keep pulling every --interval seconds")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400))
@click.option("--rounds", default=None, type=click.IntRange(1), help="with --follow: stop after N")
@click.option(
    "--lease",
    default=0,
    type=click.IntRange(0, 600),
    help="lease each page for this many seconds, for several pullers side by side",
)
@party_options
def municipality_pull(
    out: Path | None,
    webhook: str | None,
    follow: bool,
    interval: float,
    rounds: int | None,
    lease: int,
    client: GatewayClient,
) -> None:
    """Verify, keep, then acknowledge every delivery in the inbox."""
    from connectors import municipality as m

    if (out is None) == (webhook is None):
        raise click.UsageError("give exactly one of --out and --webhook")
    sink = m.folder_sink(out) if out is not None else m.webhook_sink(str(webhook))

    def report(result: m.PullResult) -> None:
        withheld = ", ".join(f"{k}: {v}" for k, v in sorted(result.withheld.items())) or "none"
        click.echo(
            f"{datetime.now(UTC):%H:%M:%S} new: {result.written}, already kept: "
            f"{result.already_there}, acknowledged: {result.acknowledged}; withheld: {withheld}"
        )

    if follow:
        m.follow(
            client,
            sink,
            interval=interval,
            rounds=rounds,
            report=report,
            unreachable=_unreachable,
            lease=lease,
        )
    else:
        report(m.pull_once(client, sink, lease=lease))


_subject_options = [
    click.option("--v-number", required=True, help="the newcomer's V-nummer"),
    click.option("--bsn", default=None, help="the newcomer's BSN, if known"),
]


def subject_options(func: F) -> F:
    for decorator in reversed(_subject_options):
        func = decorator(func)
    return func


@municipality.command("declare")
@click.argument("declaration", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--form",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the scan of the signed form (only its SHA-256 is sent)",
)
@subject_options
@party_options
def municipality_declare(
    declaration: Path,
    form: Path,
    v_number: str,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Record a consent declaration from a JSON file (see connectors/samples)."""
    from connectors import municipality as m
    from gateway.domain.wire import strictjson

    body = strictjson.loads_object(declaration.read_bytes())
    declaration_id, submitted = m.declare(client, body, m.subject_of(v_number, bsn), form)
    click.echo(f"declaration {declaration_id} recorded (audit index {_index(submitted)})")


@municipality.command("withdraw")
@click.option("--declaration-id", required=True)
@click.option("--at", default=None, help="effective time, RFC 3339 (default now)")
@click.option(
    "--by",
    type=click.Choice(["data-subject", "recording-party"]),
    default="data-subject",
    show_default=True,
    help="the newcomer withdrew, or the municipality revoked",
)
@subject_options
@party_options
def municipality_withdraw(
    declaration_id: str,
    at: str | None,
    by: str,
    v_number: str,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Record the withdrawal of a consent declaration, effective at once (or --at)."""
    from connectors import municipality as m

    submitted = m.withdraw(
        client, declaration_id, m.subject_of(v_number, bsn), at=parse_time(at), by=by
    )
    click.echo(f"withdrawal of {declaration_id} recorded (audit index {_index(submitted)})")


@municipality.command("assign")
@click.option("--provider", "provider_oin", required=True, help="the provider's OIN")
@click.option(
    "--route",
    type=click.Choice(["b1-route", "onderwijsroute", "z-route"]),
    required=True,
)
@click.option("--from", "valid_from", default=None, help="RFC 3339 (default now)")
@click.option("--until", "valid_until", default=None, help="RFC 3339 (default open)")
@subject_options
@party_options
def municipality_assign(
    provider_oin: str,
    route: str,
    valid_from: str | None,
    valid_until: str | None,
    v_number: str,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Assign a newcomer to a provider, so its progress reports may come in."""
    from connectors import municipality as m

    assignment_id, submitted = m.assign(
        client,
        provider_oin,
        m.subject_of(v_number, bsn),
        route=route,
        valid_from=parse_time(valid_from) or datetime.now(UTC),
        valid_until=parse_time(valid_until),
    )
    click.echo(f"assignment {assignment_id} recorded (audit index {_index(submitted)})")


def _unreachable(why: str) -> None:
    click.echo(f"gateway unreachable ({why}); trying again next round", err=True)


def _index(submitted: Any) -> Any:
    return submitted.receipt.get("audit", {}).get("index")


# -- auditor -------------------------------------------------------------------------


@connect.group("auditor")
def auditor() -> None:
    """Check the gateway's audit log without trusting the gateway."""


_state_option = click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="remembers the last verified checkpoint between runs",
)


@auditor.command("watch")
@_state_option
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400))
@click.option("--rounds", default=None, type=click.IntRange(1), help="stop after N rounds")
@click.option(
    "--samples",
    default=8,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="new entries checked by inclusion proof per round",
)
@party_options
def auditor_watch(
    state_path: Path,
    interval: float,
    rounds: int | None,
    samples: int,
    client: GatewayClient,
) -> None:
    """Every --interval: check the newest checkpoint's signature and consistency."""
    from connectors.auditor import LogMismatch, Watched, watch

    def report(seen: Watched) -> None:
        click.echo(
            f"{datetime.now(UTC):%H:%M:%S} consistent: tree size {seen.tree_size} "
            f"(+{seen.new_entries}, {seen.sampled} sampled), root {seen.root_hash[:16]}…"
        )

    try:
        watch(
            client,
            state_path,
            interval=interval,
            rounds=rounds,
            samples=samples,
            report=report,
            unreachable=_unreachable,
        )
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)


@auditor.command("verify")
@click.option(
    "--state",
    "state_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="remembers the last verified checkpoint between runs",
)
@party_options
def auditor_verify(state_path: Path | None, client: GatewayClient) -> None:
    """Verify the whole log: every entry, every checkpoint, the proofs."""
    from connectors.auditor import LogMismatch, verify_log

    try:
        result = verify_log(client, state_path)
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)
    click.echo(
        f"verified: {result.entries} entries, {result.checkpoints} checkpoints, "
        f"tree size {result.tree_size}, root {result.root_hash}"
    )
