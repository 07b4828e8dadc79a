"""A JWK read from a key file: a party's private key, or a public key to register."""

from __future__ import annotations

from pathlib import Path

from gateway.domain.wire import jwk, strictjson


def load_jwk_file(path: str | Path, *, private: bool = False) -> jwk.Key:
    """Read a JWK from a file; ``private`` says which half is expected.

    Raises BadRequest when it is not a JWK of the contract's types, OSError when the
    file cannot be read.
    """
    return jwk.import_jwk(strictjson.loads_object(Path(path).read_bytes()), private=private)
