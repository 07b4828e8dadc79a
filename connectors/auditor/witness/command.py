"""``gateway connect auditor witness …``: run a witness of the gateway's audit log.

A witness lives in one folder (``--data``): its private key (``witness.key``)
and its state (``witness.sqlite3``). ``init`` makes both, ``add-log`` trusts a
log's key, ``serve`` answers logs and monitors over HTTP. Loaded by name by
the auditor's group (its ``console`` below), so ``gateway connect auditor``
starts without it; the protocol and the server are imported only when a
command runs. Every bad input is one line and exit status 2.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from connectors.common.options import DomainErrorGroup

if TYPE_CHECKING:
    from connectors.auditor.witness.state import WitnessState
    from gateway.client.witness import CosigningKey

KEY_FILE = "witness.key"
ALGORITHMS = ("ml-dsa-44", "ed25519")


class WitnessError(click.ClickException):
    """A user's mistake: one line (``Error: …``), exit status 2, no usage text."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


data_option = click.option(
    "--data",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="the witness's folder: its key (witness.key) and its state (witness.sqlite3)",
)


@click.group("witness", cls=DomainErrorGroup)
def witness() -> None:
    """Witness a transparency log (C2SP tlog-witness): cosign each checkpoint only when it
    extends the last one cosigned, so the log cannot show different histories to
    different parties."""


console = witness
"""the name the auditor's lazy group loads"""


@witness.command("init")
@data_option
@click.option("--name", required=True,
              help="the witness's name, a schema-less URL (e.g. inspectie.example/witness)")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default="ml-dsa-44",
              show_default=True, help="ML-DSA-44 as C2SP advises; Ed25519 for older clients")
def init(data: Path, name: str, algorithm: str) -> None:  # fmt: skip
    """Make the witness's key and state in --data; print its verifier key."""
    from gateway.client.witness import (
        ED25519_COSIGNATURE,
        MLDSA44_COSIGNATURE,
        CosigningKey,
        parse_vkey,
    )
    from gateway.errors import CheckpointError

    kind = MLDSA44_COSIGNATURE if algorithm == "ml-dsa-44" else ED25519_COSIGNATURE
    key = CosigningKey.generate(name, kind)
    try:
        parse_vkey(key.verifier.vkey)  # the name's rules (C2SP signed-note)
    except CheckpointError:
        raise WitnessError("a witness's name has no spaces, '+' or '\u2014'") from None
    if len(name.encode()) > 255:
        raise WitnessError("a witness's name is at most 255 bytes")
    _folder(data)
    _write_key(data / KEY_FILE, key.serialize())
    _state(data).close()
    click.echo(key.verifier.vkey)
    click.echo(
        f"made witness {name} in {data}: give the verifier key above to the log's operator "
        f"and to the clients that check cosignatures; then trust the log with "
        f"`gateway connect auditor witness add-log --data {data} --vkey <its note key>`",
        err=True,
    )


@witness.command("vkey")
@data_option
def vkey(data: Path) -> None:
    """Print the witness's verifier key (for the log and the clients)."""
    click.echo(_key(data).verifier.vkey)


@witness.command("add-log")
@data_option
@click.option("--vkey", "log_vkey", required=True,
              help="the log's note verifier key (the gateway's: GET /v1/audit/note-key)")
def add_log(data: Path, log_vkey: str) -> None:  # fmt: skip
    """Trust a log's key for its origin (the key's name). A log may have several keys."""
    from gateway.client.witness import NOTE, parse_vkey
    from gateway.errors import CheckpointError

    _key(data)
    try:
        verifier = parse_vkey(log_vkey, (NOTE,))
    except CheckpointError as error:
        raise WitnessError(f"--vkey: {error.detail} (a log's key is of type 0x01)") from None
    state = _state(data)
    try:
        added = state.add_log(verifier)
    finally:
        state.close()
    said = "trusted" if added else "already trusted"
    click.echo(f"{said}: log {verifier.name}, key {verifier.key_id.hex()}")


@witness.command("logs")
@data_option
def logs(data: Path) -> None:
    """List the logs this witness cosigns for: keys, newest cosigned size and time."""
    _key(data)
    state = _state(data)
    try:
        found = state.logs()
    finally:
        state.close()
    if not found:
        click.echo("no logs yet: add one with `witness add-log`", err=True)
    for log in found:
        cosigned = (f"size {log.size}, cosigned {log.cosigned_at}" if log.size is not None
                    else "nothing cosigned yet")  # fmt: skip
        click.echo(f"{log.origin}  keys {','.join(log.key_ids)}  {cosigned}")


@witness.command("refusals")
@data_option
def refusals(data: Path) -> None:
    """Print the refused checkpoints kept as possible proof of a misbehaving log."""
    _key(data)
    state = _state(data)
    try:
        found = state.refusals()
    finally:
        state.close()
    if not found:
        click.echo("no refusals kept", err=True)
    for refusal in found:
        click.echo(f"{refusal.at} {refusal.status} {refusal.origin} old {refusal.old} "
                   f"size {refusal.size}: {refusal.detail}")  # fmt: skip
        click.echo(refusal.note)


@witness.command("serve")
@data_option
@click.option("--listen", default="127.0.0.1:7380", show_default=True,
              help="HOST:PORT ([::1]:PORT for IPv6); port 0 takes a free one")
@click.option("--prefix", default="", help="a path prefix, e.g. /witness (behind a proxy)")
def serve(data: Path, listen: str, prefix: str) -> None:  # fmt: skip
    """Answer add-checkpoint and the monitors' checkpoint requests until stopped."""
    from connectors.auditor.witness.server import WitnessServer

    key = _key(data)
    host, port = _address(listen)
    prefix = _prefix(prefix)
    state = _state(data)
    if not state.logs():
        state.close()
        raise WitnessError(f"no log to witness: add one with `witness add-log --data {data}`")
    try:
        server = WitnessServer((host, port), state, key, prefix)
    except OSError as error:
        state.close()
        raise WitnessError(f"cannot listen on {listen}: {error.strerror or error}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"witness {key.name} at http://{shown}:{server.server_address[1]}{prefix}/")
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        state.close()
    click.echo("witness stopped", err=True)


def _stop(signum: int, frame: FrameType | None) -> Any:
    """SIGTERM ends serving as Ctrl-C does: the accept loop stops, the state closes. A
    request in flight either committed or rolls back: the state is never half written."""
    raise KeyboardInterrupt


def _folder(data: Path) -> None:
    """The witness's folder, made private (0700) when this makes it."""
    if data.exists() and not data.is_dir():
        raise WitnessError(f"{data} is not a folder")
    if not data.exists():
        try:
            data.mkdir(parents=True, mode=0o700)
            data.chmod(0o700)
        except OSError as error:
            raise WitnessError(f"cannot make {data}: {error.strerror}") from None


def _write_key(path: Path, text: str) -> None:
    """Writes the key once (never over another: that would lose the witness's identity),
    readable by its owner only, and on disk before its verifier key is given out."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise WitnessError(f"{path} exists: a witness keeps its key; use another --data") from None
    except OSError as error:
        raise WitnessError(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(handle, "w") as file:
        file.write(text + "\n")
        file.flush()
        os.fsync(file.fileno())


def _key(data: Path) -> CosigningKey:
    """The witness's key from --data. Raises WitnessError without one."""
    from gateway.client.witness import CosigningKey
    from gateway.errors import CheckpointError

    path = data / KEY_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise WitnessError(
            f"no witness in {data}: make one with `gateway connect auditor witness init "
            f"--data {data} --name NAME`"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise WitnessError(f"cannot read {path}: {error}") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        click.echo(f"warning: {path} may be read by others (mode {mode:04o}); chmod 600 {path}",
                   err=True)  # fmt: skip
    try:
        return CosigningKey.parse(text)
    except CheckpointError as error:
        raise WitnessError(f"{path}: {error.detail}") from None


def _state(data: Path) -> WitnessState:
    import sqlite3

    from connectors.auditor.witness.state import STATE_FILE, WitnessState

    try:
        return WitnessState(data / STATE_FILE)
    except sqlite3.Error as error:
        raise WitnessError(f"cannot open {data / STATE_FILE}: {error}") from None


def _address(listen: str) -> tuple[str, int]:
    """HOST:PORT, the host an IP address or a name, an IPv6 one in brackets."""
    host, colon, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise WitnessError(f"--listen {listen}: give HOST:PORT, e.g. 127.0.0.1:7380")
    return host, int(port)


def _prefix(prefix: str) -> str:
    """"" or "/a/b": a leading slash, none at the end."""
    prefix = prefix.strip().rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    if any(c.isspace() or c in "?#" for c in prefix):
        raise WitnessError(f"--prefix {prefix}: a path, e.g. /witness")
    return prefix

