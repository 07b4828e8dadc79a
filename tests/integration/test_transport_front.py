"""Whom the gateway believes a certificate header from (GATEWAY_TRANSPORT=digikoppeling):
a peer address in GATEWAY_TRUSTED_FRONTS that sends GATEWAY_FRONT_SECRET, both; in
keys-only mode the headers mean nothing. The end-to-end test runs the same with
nginx; this one can set the peer's address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from gateway.bootstrap import storage_of, with_checkpointer
from gateway.devtools import demo
from gateway.devtools.pki import TestPKI
from gateway.web.app import create_app
from tests.conftest import services_for
from tests.helpers import profile_token

SECRET = "f" * 40
FRONT = "10.0.0.7"


@pytest.fixture(scope="module")
def pems() -> dict[str, str]:
    made = TestPKI()
    return {oin: quote(made.party(oin, name, "x.test").pem.decode())
            for oin, _, name, _ in demo.PARTIES}  # fmt: skip


def _app(folder: Path, transport: str) -> Iterator[tuple[FlaskClient, demo.Cast]]:
    env = {"GATEWAY_TRANSPORT": transport, "GATEWAY_FRONT_SECRET": SECRET,
           "GATEWAY_TRUSTED_FRONTS": FRONT}  # fmt: skip
    services = services_for(folder, env)
    cast = demo.register_cast(services, "http://unused", datetime.now(UTC))
    app = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False})
    yield app.test_client(), cast
    storage_of(services).engine.dispose()


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[tuple[FlaskClient, demo.Cast]]:
    yield from _app(tmp_path / "instance", "digikoppeling")


@pytest.fixture
def keys_only(tmp_path: Path) -> Iterator[tuple[FlaskClient, demo.Cast]]:
    yield from _app(tmp_path / "instance", "keys")


def _post(client: FlaskClient, token: str, peer: str, headers: dict[str, str]) -> tuple[int, str]:
    answer = client.post("/v1/messages", data=token, environ_base={"REMOTE_ADDR": peer},
                         headers={"Content-Type": "application/jose", **headers})  # fmt: skip
    return answer.status_code, str(answer.get_json().get("code", ""))


def _front(pem: str, secret: str = SECRET) -> dict[str, str]:
    return {"X-Client-Cert": pem, "X-Client-Verify": "SUCCESS", "X-Gateway-Front": secret}


def test_headers_count_only_from_the_trusted_front_with_its_secret(
    strict: tuple[FlaskClient, demo.Cast], pems: dict[str, str]
) -> None:
    client, cast = strict

    def token(seed: int) -> str:
        return str(profile_token(cast.client(demo.COA), seed)[0])

    coa = _front(pems[demo.COA])
    assert _post(client, token(1), "127.0.0.1", coa) == (401, "unauthenticated")  # not the front
    assert _post(client, token(2), FRONT, _front(pems[demo.COA], "g" * 40)) == (
        401, "unauthenticated",
    )  # fmt: skip
    assert _post(client, token(3), FRONT, {**coa, "X-Client-Verify": "FAILED:expired"}) == (
        401, "unauthenticated",
    )  # fmt: skip
    assert _post(client, token(4), FRONT, _front(pems[demo.LEIDEN])) == (403, "not-authorised")
    assert _post(client, token(5), FRONT, coa) == (202, "")


def test_in_keys_only_mode_the_headers_mean_nothing(
    keys_only: tuple[FlaskClient, demo.Cast], pems: dict[str, str]
) -> None:
    client, cast = keys_only
    token = profile_token(cast.client(demo.COA), 6)[0]
    assert _post(client, token, "127.0.0.1", _front(pems[demo.LEIDEN])) == (202, "")
