"""Requiring witnesses: the gateway's log accepted only as its witnesses' quorum vouched for it.

The auditor's policy (a C2SP tlog-policy file: the gateway's note key as its
log, the witnesses it trusts, the quorum) is checked against what the gateway
serves as witnessed (``GET /v1/audit/witnessed``): the gateway's signature and
the quorum's cosignatures, or the checkpoint is refused in words. That
checkpoint must then be part of the log the auditor verified (a consistency
proof to the newest checkpoint). And where the policy gives a witness its
URL, the auditor asks that witness itself for the newest checkpoint it
cosigned (C2SP tlog-witness's monitoring endpoint): a gateway that showed the
witnesses another log than the one it shows the auditor (a split view), or
that lost entries the witnesses saw (a restored backup), is caught there,
whatever the gateway serves.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import click
import requests

from connectors.auditor.leaves import LogMismatch
from connectors.auditor.published import verified_checkpoint
from connectors.common.client import GatewayClient
from gateway.client import log, witness
from gateway.errors import CheckpointError, GatewayError, NotFound

TIMEOUT = (3.0, 10.0)
WORDS = {
    "not-witnessed": "the gateway serves no checkpoint its witnesses cosigned: {detail}",
    "quorum": "the witnessed checkpoint is refused: {detail}",
    "witnessed-not-in-log": "the witnessed checkpoint (size {size}) is not part of the log "
    "verified (size {verified})",
    "witness-ahead": "witness {witness} cosigned size {size}, more than the gateway's log holds "
    "({verified}): entries were lost, or the witness was shown another log",
    "witness-forked": "witness {witness} cosigned size {size} with another root than this log "
    "has: a split view, or a log rewritten",
    "witness-invalid": "witness {witness} serves a checkpoint that does not verify: {detail}",
}
"""What requiring witnesses finds wrong (``verify.FINDINGS`` has them too)."""


class Mismatch(LogMismatch):
    def __init__(self, kind: str, **values: object) -> None:
        super().__init__(WORDS[kind].format(**values))
        self.kind = kind
        self.values = {name: str(value) for name, value in values.items()}


@dataclass(frozen=True)
class Witnessed:
    tree_size: int
    root_hash: str
    cosigners: tuple[str, ...]
    """the policy's names of the witnesses whose cosignatures verified"""
    witnesses_asked: tuple[str, ...] = ()
    """the witnesses asked directly whose newest cosigned checkpoint agrees with this log"""


def read_policy(path: Path) -> witness.Policy:
    """The auditor's policy file; a click error in words when it is not a policy."""
    try:
        return witness.parse_policy(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}") from None
    except CheckpointError as error:
        raise click.BadParameter(error.detail) from None


policy_option = click.option(
    "--policy", "policy_path", default=None, envvar="GATEWAY_WITNESS_POLICY",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="witnesses required (a C2SP tlog-policy file: the gateway's note key as its log, the "
    "witnesses, the quorum); the log is accepted only as its witnesses cosigned it",
)  # fmt: skip


def check(client: GatewayClient, policy: witness.Policy, newest: log.Checkpoint) -> Witnessed:
    """The witnessed checkpoint, held to ``policy`` and to the verified log up to ``newest``;
    then each witness the policy gives a URL, asked directly. Raises Mismatch."""
    if not policy.logs:  # the log is known from the gateway itself: its published keys
        policy = dataclasses.replace(policy, logs=tuple((k, None) for k in _log_keys(client)))
    origin = policy.logs[0][0].name
    asked = tuple(  # first: a witness's own word outweighs whatever the gateway serves
        name for name, (key, url) in sorted(policy.witnesses.items())
        if url is not None and _agrees(client, policy, name, key, url, origin, newest)
    )  # fmt: skip
    try:
        text = client.get("/v1/audit/witnessed", accept="text/plain").text
    except NotFound as error:
        raise Mismatch("not-witnessed", detail=error.detail) from None
    try:
        note = witness.parse_note(text)
        body = witness.parse_body(note.text)
        cosigners = policy.check(note)
    except CheckpointError as error:
        raise Mismatch("quorum", detail=error.detail) from None
    point = log.Checkpoint(body.size, body.root.hex(), "")
    if body.size > newest.tree_size:  # cosigned since the log was verified: its newest now
        newest = _current(client, newest)
    if not _part_of(client, point, newest):
        raise Mismatch("witnessed-not-in-log", size=body.size, verified=newest.tree_size)
    return Witnessed(body.size, body.root.hex(), tuple(sorted(cosigners)), asked)


def _log_keys(client: GatewayClient) -> list[witness.Verifier]:
    """The note keys of the gateway's log: its published note key's, first, then every
    published key's under the same origin. Across a key rotation a witnessed checkpoint may
    be signed by the key before (a retired key is published for what it signed)."""
    served = witness.parse_vkey(client.request("GET", "/v1/audit/note-key").text, (witness.NOTE,))
    found = [served]
    for key in client.gateway_keys().values():
        try:
            other = witness.parse_vkey(log.vkey(served.name, key), (witness.NOTE,))
        except CheckpointError:  # not a note key (notes are Ed25519)
            continue
        if other.public != served.public:
            found.append(other)
    return found


def _part_of(client: GatewayClient, point: log.Checkpoint, newest: log.Checkpoint) -> bool:
    """Whether ``point`` is a prefix of the log up to ``newest`` (by the gateway's proof)."""
    if point.tree_size > newest.tree_size:
        return False
    if point.tree_size == newest.tree_size:
        return point.root_hash == newest.root_hash
    if point.tree_size == 0:
        return True
    proof = client.get_json("/v1/audit/proofs/consistency", first=point.tree_size,
                            second=newest.tree_size)  # fmt: skip
    try:
        log.verify_consistency(point.tree_size, newest.tree_size, bytes.fromhex(point.root_hash),
                               bytes.fromhex(newest.root_hash),
                               [bytes.fromhex(p) for p in proof["path"]])  # fmt: skip
    except (GatewayError, ValueError, KeyError, TypeError):
        return False
    return True


def _agrees(
    client: GatewayClient, policy: witness.Policy, name: str, key: witness.Verifier, url: str,
    origin: str, newest: log.Checkpoint,
) -> bool:  # fmt: skip
    """The witness's newest cosigned checkpoint is part of this log. False when the witness
    cannot be asked (absence is no evidence); raises Mismatch when it disagrees."""
    address = f"{url.rstrip('/')}/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"
    try:
        answer = requests.get(address, timeout=TIMEOUT)
    except requests.RequestException:
        return False
    if answer.status_code != 200:
        return False
    try:
        note = witness.parse_note(answer.content)
        body = witness.parse_body(note.text)
        signed = witness.verified(note, [k for k, _ in policy.logs] + [key])
    except CheckpointError as error:
        raise Mismatch("witness-invalid", witness=name, detail=error.detail) from None
    if key.name not in signed or (policy.logs and body.origin not in signed):
        raise Mismatch("witness-invalid", witness=name, detail="not signed by the log and it")
    theirs = log.Checkpoint(body.size, body.root.hex(), "")
    if body.size > newest.tree_size:  # the log grew since it was verified: its newest now
        newest = _current(client, newest)
    if body.size > newest.tree_size:
        raise Mismatch("witness-ahead", witness=name, size=body.size, verified=newest.tree_size)
    if not _part_of(client, theirs, newest):
        raise Mismatch("witness-forked", witness=name, size=body.size)
    return True


def _current(client: GatewayClient, verified: log.Checkpoint) -> log.Checkpoint:
    """The gateway's newest checkpoint now, signed and an extension of ``verified``."""
    token = str(client.get_json("/v1/audit/checkpoint").get("checkpoint"))
    try:
        current = verified_checkpoint(client, token)
    except GatewayError as error:
        raise Mismatch("quorum", detail=f"the newest checkpoint: {error.detail}") from None
    if not _part_of(client, verified, current):
        raise Mismatch("witnessed-not-in-log", size=verified.tree_size, verified=current.tree_size)
    return current
