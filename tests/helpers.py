"""Test helpers: forging JWSs byte by byte, the way an attacker would."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from gateway.bootstrap import storage_of
from gateway.domain.wire import envelope, jwk
from gateway.service.groupcommit import GroupCommit


def b64(data: bytes | str) -> str:
    return envelope.b64url_encode(data.encode() if isinstance(data, str) else data)


def raw_sign(key: jwk.Key, signing_input: bytes) -> bytes:
    """Sign with the raw private key: what a careless or hostile signer can produce."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    private = key.get_op_key("sign")
    if isinstance(private, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):  # OKP
        return bytes(private.sign(signing_input))
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise TypeError(f"no signing with a {type(private).__name__}")
    der = private.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forge(header: dict[str, Any] | str, payload: dict[str, Any] | bytes, key: jwk.Key) -> str:
    """A compact JWS over exactly the given header text and payload bytes, validly signed."""
    header_text = header if isinstance(header, str) else json.dumps(header)
    payload_bytes = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(header_text)}.{b64(payload_bytes)}".encode()
    return f"{signing_input.decode()}.{b64(raw_sign(key, signing_input))}"


def header_for(
    key: jwk.Key, typ: str = envelope.MESSAGE_TYP, alg: str | None = None
) -> dict[str, Any]:
    return {"alg": alg or jwk.default_alg(key), "kid": jwk.thumbprint(key), "typ": typ}


def profile_payload(rng: Any, now: Any = None) -> tuple[dict[str, Any], Any]:
    """A handover profile payload of a new synthetic newcomer, demo COA to Leiden."""
    from datetime import UTC, datetime

    from gateway.devtools import demo, synthetic

    person = synthetic.Newcomer.make(rng)
    payload = demo.profile(person, rng, now or datetime.now(UTC))
    return payload, person


def signed_profile(key: jwk.Key, rng: Any, now: Any = None) -> tuple[dict[str, Any], bytes, Any]:
    """``profile_payload`` signed with ``key``: the payload, the JWS bytes, the newcomer."""
    payload, person = profile_payload(rng, now)
    return payload, envelope.sign(payload, key, typ=envelope.MESSAGE_TYP).encode(), person


def profile_token(client: Any, seed: int, now: Any = None) -> tuple[str, Any]:
    """A signed handover profile of a new synthetic newcomer from the demo COA to Leiden."""
    import random

    payload, person = profile_payload(random.Random(seed), now)
    return client.sign(payload), person


def record(services: Any, *events: Any, now: Any = None) -> None:
    """Append audit entries in a write transaction of their own, as a refusal is."""
    from datetime import UTC, datetime

    with services.store.write() as tx:
        tx.append(list(events), now or datetime.now(UTC))


def read_event() -> Any:
    """An audit entry with no subject: what tests append to grow the log."""
    from gateway.domain.audit import events

    return events.Event(
        event="audit.read", actor=None, outcome="ok", trace_id="0" * 32, processing_activity="test"
    )


def write_keys(cast: Any, folder: Any) -> dict[str, Any]:
    """Each demo party's private JWK in a file of its own (mode 0600), as a connector reads it."""
    import os
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for oin, key in cast.keys.items():
        path = folder / f"{oin}.jwk"
        path.write_text(json.dumps(jwk.private_jwk(key)))
        os.chmod(path, 0o600)
        paths[oin] = path
    return paths


def connector(url: str, oin: str, key: Any, *args: str, timeout: float = 120, **popen: Any) -> Any:
    """``gateway connect …`` as a subprocess, as a party would run it; returns CompletedProcess."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GATEWAY_URL": url, "GATEWAY_OIN": oin, "GATEWAY_KEY": str(key)}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "connect", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **popen,
    )


def database_bytes(services: Any) -> bytes:
    """Everything the database holds: SQLite's files, or every PostgreSQL value as stored.

    For scans that no plaintext of a person is at rest, on either backend.
    """
    from sqlalchemy import select

    from gateway.storage import tables

    if services.settings.is_sqlite:
        storage_of(services).engine.dispose()  # the WAL checkpointed into the file
        return b"".join(p.read_bytes() for p in services.settings.instance.glob("gateway.db*"))
    chunks: list[bytes] = []
    with storage_of(services).engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    is_bytes = isinstance(value, bytes | memoryview)
                    chunks.append(bytes(value) if is_bytes else str(value).encode())
    return b"".join(chunks)


class ObservedGroupCommit(GroupCommit[Any, Any]):
    """The real group commit, noting the size of each group it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def submit(self, item: Any, write: Callable[[Sequence[Any]], Sequence[Any]]) -> Any:
        def noted(items: Sequence[Any]) -> Sequence[Any]:
            self.sizes.append(len(items))
            return write(items)

        return super().submit(item, noted)
