"""Every outcome of POST /v1/messages over real HTTP against the real server."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from jwcrypto import jwk as jjwk
from jwcrypto import jws as jjws

from connectors.common.client import GatewayClient
from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit import events
from gateway.domain.parties import KeyRecord
from gateway.domain.wire import envelope, jwk
from gateway.service import registry
from gateway.service.services import Services
from tests.helpers import b64

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}


@dataclass
class Case:
    name: str
    body: Callable[[], bytes | Iterator[bytes]]
    status: int
    code: str
    headers: dict[str, str] | None = None


@pytest.fixture(scope="module")
def world(cast: demo.Cast, server_services: Services) -> dict[str, Any]:
    """Keys outside their validity, and a newcomer with an accepted profile."""
    now = datetime.now(UTC)
    expired, future = jwk.generate(), jwk.generate()
    validity: list[tuple[jwk.Key, datetime, datetime | None]] = [
        (expired, now - timedelta(days=2), now - timedelta(days=1)),
        (future, now + timedelta(days=1), None),
    ]
    for key, not_before, not_after in validity:
        public = jwk.public_jwk(key)
        record = KeyRecord(jwk.thumbprint(key), demo.COA, public, not_before, not_after)
        registry.register_key(server_services, record, now, events.new_trace_id())
    rng = random.Random(42)
    person = synthetic.Newcomer.make(rng)
    profile = demo.profile(person, rng, now)
    response = requests.post(
        cast.url + "/v1/messages",
        data=cast.client(demo.COA).sign(profile),
        headers=JOSE,
        timeout=10,
    )
    assert response.status_code == 202
    return {"expired": expired, "future": future, "person": person, "profile": profile, "rng": rng}


Fresh = Callable[..., dict[str, Any]]
"""the world's accepted profile under a new message_id, issued now, with the changes given"""


def _signed(key: jwk.Key, payload: dict[str, Any]) -> Callable[[], bytes]:
    return lambda: envelope.sign(payload, key, typ=envelope.MESSAGE_TYP).encode()


def _envelope_cases(
    coa: GatewayClient, world: dict[str, Any], fresh: Fresh, good: str
) -> list[Case]:
    """Refused before the payload is read: the JWS itself, its key, its signature."""
    none_header = b64(
        json.dumps({"alg": "none", "kid": jwk.thumbprint(coa.key), "typ": envelope.MESSAGE_TYP})
    )
    return [
        Case("not a JWS", lambda: b"hello", 400, "malformed"),
        Case("bad base64url", lambda: (good[:-3] + "=" + good[-2:]).encode(), 400, "malformed"),
        Case(
            "alg none",
            lambda: f"{none_header}.{good.split('.')[1]}.".encode(),
            400,
            "unsupported-header",
        ),
        Case("unregistered key", _signed(jwk.generate(), fresh()), 401, "unknown-key"),
        Case("expired key", _signed(world["expired"], fresh()), 401, "key-not-valid"),
        Case("key not yet valid", _signed(world["future"], fresh()), 401, "key-not-valid"),
        Case(
            "tampered signature",
            lambda: (good[:-6] + ("AAAAAA" if good[-6:] != "AAAAAA" else "BBBBBA")).encode(),
            401,
            "invalid-signature",
        ),
    ]


def _sender_cases(
    coa: GatewayClient,
    provider: GatewayClient,
    profile: dict[str, Any],
    fresh: Fresh,
    now: datetime,
) -> list[Case]:
    """Well signed, but not this sender's to send, or not now: authority, conflict, replay."""
    return [
        Case(
            "provider claims to be COA",
            lambda: provider.sign(fresh()).encode(),
            403,
            "sender-mismatch",
        ),
        Case(
            "COA sends a progress report",
            lambda: coa.sign(
                fresh(type="progress-report", body=synthetic.progress_report(demo.COA))
            ).encode(),
            403,
            "not-authorised",
        ),
        Case(
            "COA sends to a provider",
            lambda: coa.sign(fresh(recipient=demo.PROVIDER)).encode(),
            403,
            "not-authorised",
        ),
        Case(
            "message_id reused, other content",
            lambda: coa.sign(
                {**profile, "body": {**profile["body"], "interests": {"hobbies": ["Chess"]}}}
            ).encode(),
            409,
            "conflict",
        ),
        Case(
            "issued 8 days ago",
            lambda: coa.sign(fresh(issued_at=synthetic.utc(now - timedelta(days=8)))).encode(),
            409,
            "replay",
        ),
        Case(
            "issued 10 minutes ahead",
            lambda: coa.sign(fresh(issued_at=synthetic.utc(now + timedelta(minutes=10)))).encode(),
            409,
            "replay",
        ),
    ]


def _body_cases(coa: GatewayClient, profile: dict[str, Any], fresh: Fresh, good: str) -> list[Case]:
    """The request body: too large, the wrong media type, or a payload off its schema."""
    big = b"A" * (300 * 1024)
    bad_body = fresh(
        body={**profile["body"], "identity": {**profile["body"]["identity"], "bsn": "999999991"}}
    )
    return [
        Case("300 KiB body", lambda: big, 413, "payload-too-large"),
        Case(
            "300 KiB chunked body",
            lambda: iter([big[:100_000], big[100_000:]]),
            413,
            "payload-too-large",
        ),
        Case(
            "JSON media type",
            lambda: good.encode(),
            415,
            "unsupported-media-type",
            {"Content-Type": "application/json"},
        ),
        Case(
            "no media type",
            lambda: good.encode(),
            415,
            "unsupported-media-type",
            {"Content-Type": ""},
        ),
        Case("BSN fails the 11-test", lambda: coa.sign(bad_body).encode(), 422, "schema-violation"),
        Case(
            "unknown type version",
            lambda: coa.sign(fresh(version=9)).encode(),
            422,
            "schema-violation",
        ),
    ]


def _cases(cast: demo.Cast, world: dict[str, Any]) -> list[Case]:
    """Every refusal of the contract, in ``CASE_NAMES`` order."""
    coa, provider = cast.client(demo.COA), cast.client(demo.PROVIDER)
    profile, person = world["profile"], world["person"]
    now = datetime.now(UTC)

    def fresh(**changes: Any) -> dict[str, Any]:
        return {
            **profile,
            "message_id": synthetic.payload(
                "x", {}, sender="", recipient="", newcomer=person, issued_at=now
            )["message_id"],
            "issued_at": synthetic.utc(now),
            **changes,
        }

    good = coa.sign(fresh())
    return (
        _envelope_cases(coa, world, fresh, good)
        + _sender_cases(coa, provider, profile, fresh, now)
        + _body_cases(coa, profile, fresh, good)
    )


CASE_NAMES = [
    "not a JWS",
    "bad base64url",
    "alg none",
    "unregistered key",
    "expired key",
    "key not yet valid",
    "tampered signature",
    "provider claims to be COA",
    "COA sends a progress report",
    "COA sends to a provider",
    "message_id reused, other content",
    "issued 8 days ago",
    "issued 10 minutes ahead",
    "300 KiB body",
    "300 KiB chunked body",
    "JSON media type",
    "no media type",
    "BSN fails the 11-test",
    "unknown type version",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_refused_message_is_a_problem_leaves_nothing_stored_and_one_audit_entry(
    name: str, cast: demo.Cast, world: dict[str, Any], server_services: Services
) -> None:
    case = next(c for c in _cases(cast, world) if c.name == name)
    store = storage_of(server_services)
    messages, entries = store.count("messages"), store.count("audit_entries")
    response = requests.post(
        cast.url + "/v1/messages", data=case.body(), headers=case.headers or JOSE, timeout=10
    )
    assert response.status_code == case.status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == case.code and problem["status"] == case.status
    if case.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert store.count("messages") == messages
    new = store.audit.entries(entries)
    assert [(e["entry"]["event"], e["entry"]["reason"]) for e in new] == [
        ("message.refused", case.code)
    ]
    person = world["person"]
    text = response.text + json.dumps(new)
    for value in (person.bsn, person.v_number, person.family_name, "999999991"):
        assert value not in text


def test_every_problem_code_of_the_contract_is_covered(
    cast: demo.Cast, world: dict[str, Any]
) -> None:
    cases = _cases(cast, world)
    assert [c.name for c in cases] == CASE_NAMES
    assert {c.code for c in cases} == {
        "malformed",
        "unsupported-header",
        "unknown-key",
        "key-not-valid",
        "invalid-signature",
        "sender-mismatch",
        "not-authorised",
        "conflict",
        "replay",
        "payload-too-large",
        "unsupported-media-type",
        "schema-violation",
    }


def test_accepted_then_retried_gives_the_same_receipt(
    cast: demo.Cast, world: dict[str, Any], server_services: Services
) -> None:
    coa = cast.client(demo.COA)
    person, now = world["person"], datetime.now(UTC)
    payload = synthetic.payload(
        "handover-profile",
        world["profile"]["body"],
        sender=demo.COA,
        recipient=demo.LEIDEN,
        newcomer=person,
        issued_at=now,
    )
    token = coa.sign(payload)
    entries = storage_of(server_services).count("audit_entries")
    first = requests.post(cast.url + "/v1/messages", data=token, headers=JOSE, timeout=10)
    second = requests.post(cast.url + "/v1/messages", data=token, headers=JOSE, timeout=10)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json()
    assert storage_of(server_services).count("audit_entries") == entries + 1
    receipt = coa.verify_gateway_token(first.json()["receipt"], envelope.RECEIPT_TYP)
    assert receipt["message_id"] == payload["message_id"]
    assert receipt["status"] == "accepted"
    assert receipt["message_digest"] == hashlib.sha256(token.encode()).hexdigest()
    entry = storage_of(server_services).audit.entries(
        receipt["audit"]["index"], receipt["audit"]["index"] + 1
    )[0]
    assert entry["leaf_hash"] == receipt["audit"]["leaf_hash"]
    assert entry["leaf_hash"] == events.leaf_hash(events.canonical(entry["entry"]))


def test_message_signed_with_jwcrypto_is_accepted_and_its_receipt_verifies_with_jwcrypto(
    cast: demo.Cast, world: dict[str, Any], server_services: Services
) -> None:
    key = jjwk.JWK.generate(kty="OKP", crv="Ed25519")
    registry.register_key(
        server_services,
        KeyRecord(
            key.thumbprint(),
            demo.COA,
            json.loads(key.export_public()),
            not_before=datetime.now(UTC) - timedelta(minutes=1),
        ),
        datetime.now(UTC),
        events.new_trace_id(),
    )
    payload = synthetic.payload(
        "handover-profile",
        world["profile"]["body"],
        sender=demo.COA,
        recipient=demo.LEIDEN,
        newcomer=world["person"],
        issued_at=datetime.now(UTC),
    )
    token = jjws.JWS(json.dumps(payload).encode())
    token.add_signature(
        key,
        alg="EdDSA",
        protected=json.dumps(
            {"alg": "EdDSA", "kid": key.thumbprint(), "typ": envelope.MESSAGE_TYP}
        ),
    )
    response = requests.post(
        cast.url + "/v1/messages", data=token.serialize(compact=True), headers=JOSE, timeout=10
    )
    assert response.status_code == 202
    jwks = requests.get(cast.url + "/.well-known/jwks.json", timeout=10).json()
    receipt = jjws.JWS()
    receipt.deserialize(response.json()["receipt"])
    receipt.verify(jjwk.JWK(**jwks["keys"][0]))
    assert json.loads(receipt.payload)["message_id"] == payload["message_id"]


def test_public_endpoints(server: ServerProcess) -> None:
    assert requests.get(server.url + "/v1/health", timeout=5).json() == {"status": "ok"}
    jwks = requests.get(server.url + "/.well-known/jwks.json", timeout=5).json()
    assert requests.get(server.url + "/v1/keys", timeout=5).json() == jwks
    assert [k["kty"] for k in jwks["keys"]] == ["OKP"] and "d" not in jwks["keys"][0]
    spec = requests.get(server.url + "/openapi.json", timeout=5).json()
    assert spec["openapi"].startswith("3.1")
    assert {"/v1/messages", "/v1/health", "/v1/keys", "/.well-known/jwks.json"} <= set(
        spec["paths"]
    )


def test_wrong_method_keeps_the_allow_header(server: ServerProcess) -> None:
    response = requests.get(server.url + "/v1/messages", timeout=5)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_unknown_path_is_a_problem(server: ServerProcess) -> None:
    response = requests.get(server.url + "/v1/nothing-here", timeout=5)
    assert response.status_code == 404
    assert response.json()["type"] == "about:blank"


def test_traceparent_is_taken_into_the_audit_entry(
    cast: demo.Cast, server_services: Services
) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    entries = storage_of(server_services).count("audit_entries")
    requests.post(
        cast.url + "/v1/messages",
        data=b"x",
        timeout=5,
        headers={**JOSE, "traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    assert storage_of(server_services).audit.entries(entries)[0]["entry"]["trace_id"] == trace
