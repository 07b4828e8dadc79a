"""The auditor across a rotation of the gateway's signing key (issue #33): a client that kept
the key set from before fetches it again once when a checkpoint names a new key, and a
checkpoint no published key signed is still refused."""

from __future__ import annotations

from typing import Any, cast

import pytest

from connectors.auditor.published import verified_checkpoint
from connectors.common.client import GatewayClient
from gateway.domain.audit import checkpoints
from gateway.domain.wire import envelope, jwk
from gateway.errors import GatewayError

POINT = checkpoints.Checkpoint(3, "cd" * 32, "2026-03-01T12:00:00.000000Z")


class KeptKeys:
    """A client's key set as fetched first, and what the gateway publishes now."""

    def __init__(self, kept: list[jwk.Key], published: list[jwk.Key]) -> None:
        self.kept = {jwk.thumbprint(k): k for k in kept}
        self.published = {jwk.thumbprint(k): k for k in published}
        self.fetched = 0

    def gateway_keys(self) -> dict[str, jwk.Key]:
        return self.kept

    def verify_gateway_token(self, token: str, typ: str) -> dict[str, Any]:
        self.kept, self.fetched = self.published, self.fetched + 1
        unverified = envelope.parse(token.encode(), typ=typ)
        key = self.kept.get(unverified.header.kid)
        if key is None:
            raise GatewayError("not signed by a published key")
        return envelope.verify(unverified, key).payload


def _client(kept: KeptKeys) -> GatewayClient:
    return cast(GatewayClient, kept)


def test_a_checkpoint_of_the_new_key_has_the_keys_fetched_again_once() -> None:
    old, new = jwk.generate(), jwk.generate()
    kept = KeptKeys([old], [new, old])
    before = checkpoints.sign_jws(POINT, envelope.Signer(old, "EdDSA"))
    after = checkpoints.sign_jws(POINT, envelope.Signer(new, "EdDSA"))
    assert verified_checkpoint(_client(kept), before) == POINT and kept.fetched == 0
    assert verified_checkpoint(_client(kept), after) == POINT and kept.fetched == 1
    assert verified_checkpoint(_client(kept), before) == POINT  # the retired key still verifies
    assert kept.fetched == 1


def test_a_checkpoint_no_published_key_signed_is_refused() -> None:
    kept = KeptKeys([jwk.generate()], [jwk.generate()])
    forged = checkpoints.sign_jws(POINT, envelope.Signer(jwk.generate(), "EdDSA"))
    with pytest.raises(GatewayError):
        verified_checkpoint(_client(kept), forged)
    with pytest.raises(GatewayError):  # malformed: refused before any key is asked for
        verified_checkpoint(_client(KeptKeys([], [])), "not.a.jws")
