"""``gateway secrets …``: rotating the instance's own secrets (issue #33).

Each step writes the secret's new value where the instance keeps it (its file in the
instance folder) or, where every instance is given it by environment, to ``--out`` for
the secret store; then every instance is restarted, one at a time, before the next step
(docs/deploy.md, the runbooks). Each step is entered in the audit log. The pseudonym key
has no command: it cannot be rotated without unlinking the log's history
(``gateway.continuity.rotation``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway import config
from gateway.files.keys import load_jwk_file

if TYPE_CHECKING:  # the commands import them when run: `gateway --help` stays quick
    from gateway.continuity import rewrap

_OUT = click.option(
    "--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
    help="write the new value to this new file (0600) instead of the instance's own file: "
    "needed where the secret is given by environment, for your secret store",
)  # fmt: skip
_RESTART = "restart every instance, one at a time, with the new value; then"
SIGNING, MASTER = "GATEWAY_SIGNING_KEY", "GATEWAY_MASTER_KEY"


def _now() -> datetime:
    return datetime.now(UTC)


def _given(out: Path | None, variable: str) -> str | None:
    """``variable`` where the new value went to ``--out`` (the secret given by environment)."""
    return variable if out is not None else None


def _wrote(written: Path, variable: str | None, next_step: str) -> None:
    """Where the value went, and what the operator does next; for a value given by
    environment (``variable``), how the next step's shell gets it too."""
    click.echo(f"wrote {written}; {_RESTART} {next_step}")
    if variable is not None:
        click.echo(f'(the next step reads the new value: export {variable}="$(cat {written})")')


@click.group("secrets")
def secrets() -> None:
    """Rotate the gateway's own keys: the signing key (with an overlap in which old and new
    both verify) and the master key (every data key rewrapped, no body read)."""


@secrets.command("signing-keys")
def signing_keys() -> None:
    """List the gateway's signing keys: the notes' origin, each key's kid, state (active:
    signs; overlap: published, co-signs checkpoint notes; retired: signs nothing, stays
    published) and its note key (C2SP vkey) for witnesses and auditors' policies."""
    from gateway.continuity import rotation
    for line in rotation.describe_signing_keys(config.from_env()):
        click.echo(line)


@secrets.command("add-signing-key")
@click.option(
    "--key", "key_path", default=None, type=click.Path(exists=True, dir_okay=False),
    help="a private Ed25519 JWK to add (default: a new one is made)",
)  # fmt: skip
@_OUT
def add_signing_key(key_path: str | None, out: Path | None) -> None:
    """Step 1 of a rotation: publish a new signing key beside the active one. It co-signs
    every checkpoint note from now on (give its note key to the witnesses), signs nothing
    else yet. The notes' origin is kept in the key set, so it never changes."""
    from gateway.continuity import rotation
    key = load_jwk_file(key_path, private=True) if key_path else None
    done = rotation.add_signing_key(config.from_env(), key, _now(), out)
    click.echo(f"published {done.kid} beside the active key")
    _wrote(done.written, _given(out, SIGNING), f"`gateway secrets activate-signing-key {done.kid}`")


@secrets.command("activate-signing-key")
@click.argument("kid")
@_OUT
def activate_signing_key(kid: str, out: Path | None) -> None:
    """Step 2: KID signs receipts, tokens and checkpoints from now on. The key it replaces
    stays published and keeps co-signing notes (the overlap), so nothing it signed and no
    witness that holds only its note key is left behind."""
    from gateway.continuity import rotation
    done = rotation.activate_signing_key(config.from_env(), kid, _now(), out)
    old = [e.kid for e in done.keys.entries if e.state == "overlap"]
    click.echo(f"{kid} signs from now on; {', '.join(old)} overlaps")
    _wrote(done.written, _given(out, SIGNING), "once every witness and policy holds the new note "
           f"key, `gateway secrets retire-signing-key {', '.join(old)}`")  # fmt: skip


@secrets.command("retire-signing-key")
@click.argument("kid")
@_OUT
def retire_signing_key(kid: str, out: Path | None) -> None:
    """Step 3: KID signs nothing any more and its private half is dropped from the new
    value; its public key stays published (and at GET /v1/keys/retired), verifying for
    good what it signed before."""
    from gateway.continuity import rotation
    done = rotation.retire_signing_key(config.from_env(), kid, _now(), out)
    click.echo(f"retired {kid}: published as retired, signs nothing")
    _wrote(done.written, _given(out, SIGNING), "the rotation is complete")


@secrets.command("master-keys")
def master_keys() -> None:
    """List the master keys by id (the first wraps new data keys, every one unwraps) and how
    many data keys each wraps (one pass over the wrapped keys; no body is read)."""
    from gateway.continuity import rewrap
    from gateway.domain import vault
    settings = config.from_env()
    keys = rewrap.master_keys(settings)
    counts = rewrap.count_by_key(settings)
    for i, key in enumerate(keys):
        key_id = vault.master_key_id(key)
        click.echo(f"{'wraps' if i == 0 else 'unwraps':<8}{key_id}  {counts.pop(key_id, 0)}")
    for key_id, count in sorted(counts.items()):
        click.echo(f"{'missing':<8}{key_id}  {count}")


@secrets.command("add-master-key")
@_OUT
def add_master_key(out: Path | None) -> None:
    """Step 1 of a master key rotation: a new master key joins the set; every instance
    unwraps with it, none wraps with it yet."""
    from gateway.continuity import rewrap
    done = rewrap.add_master_key(config.from_env(), _now(), out)
    click.echo(f"added master key {done.key_id}")
    _wrote(
        done.written, _given(out, MASTER), f"`gateway secrets activate-master-key {done.key_id}`"
    )


@secrets.command("activate-master-key")
@click.argument("key_id")
@_OUT
def activate_master_key(key_id: str, out: Path | None) -> None:
    """Step 2: KEY_ID wraps every new data key from now on."""
    from gateway.continuity import rewrap
    done = rewrap.activate_master_key(config.from_env(), key_id, _now(), out)
    click.echo(f"master key {key_id} wraps new data keys")
    _wrote(done.written, _given(out, MASTER), "`gateway secrets rewrap-master-key`")


@secrets.command("rewrap-master-key")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="data keys per committed transaction")  # fmt: skip
@click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="seconds between pages, to spare a busy database")  # fmt: skip
def rewrap_master_key(batch: int, pause: float) -> None:
    """Step 3: rewrap every data key under the first master key, online: a page at a time,
    each committed; bodies are never read. Stopped or killed, run it again: it continues
    (the rows done are passed over). Exit 1 while a data key is left under another key."""
    from gateway.continuity import rewrap

    def report(progress: rewrap.Progress) -> None:
        click.echo(f"looked at {progress.seen}: rewrapped {progress.rewrapped}, "
                   f"passed over {progress.done_before}")  # fmt: skip

    done = rewrap.rewrap(config.from_env(), batch=batch, pause=pause, report=report)
    if done.left:
        raise click.ClickException(
            f"{done.left} data key(s) still wrapped by another master key: an instance still "
            "wraps with it? Restart every instance with the new key first, then run this again"
        )
    click.echo(f"every data key ({done.seen}) is wrapped by the first master key; then "
               "`gateway secrets retire-master-key <old id>`")  # fmt: skip


@secrets.command("retire-master-key")
@click.argument("key_id")
@_OUT
def retire_master_key(key_id: str, out: Path | None) -> None:
    """Step 4: KEY_ID leaves the set, once no data key needs it (checked by a pass over
    them). Destroy it after every instance runs without it, and once no backup from before
    the rewrap is kept (those hold data keys it wraps)."""
    from gateway.continuity import rewrap
    done = rewrap.retire_master_key(config.from_env(), key_id, _now(), out)
    click.echo(f"master key {key_id} retired; the set: {', '.join(done.ids)}")
    _wrote(done.written, _given(out, MASTER), "destroy the old key when no backup needs it")


COMMANDS: list[click.Command] = [secrets]
"""the commands ``gateway.cli`` adds to ``gateway``"""
