"""The gateway's published keys as the auditor checks checkpoints with them, across a rotation
of the gateway's signing key (issue #33).

A client keeps the key set it fetched first; an auditor's watch runs for months with one
client. When the gateway rotates its key, its checkpoints name a key that set lacks, and
a watch holding the old set would call a correct checkpoint invalid. So a checkpoint that
names a key not among those kept has the set fetched again, once, before it is judged
(as ``GatewayClient.verify_gateway_token`` does for receipts). A retired key stays in the
set for good, so every checkpoint it signed keeps verifying.
"""

from __future__ import annotations

from connectors.common.client import GatewayClient
from gateway.client import log, wire


def verified_checkpoint(client: GatewayClient, token: str) -> log.Checkpoint:
    """The checkpoint JWS verified by a published key. Raises GatewayError (CheckpointError
    or the envelope's) when it is malformed or no published key verifies it."""
    keys = client.gateway_keys()
    if wire.parse(token.encode("ascii"), typ=log.CHECKPOINT_TYP).header.kid not in keys:
        client.verify_gateway_token(token, log.CHECKPOINT_TYP)  # the keys fetched again once
        keys = client.gateway_keys()
    return log.verify_checkpoint_jws(token, keys)
