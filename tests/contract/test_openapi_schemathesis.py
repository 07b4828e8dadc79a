"""Schemathesis over every operation of the served OpenAPI document, in process.

Each request carries a fresh bearer assertion of a party whose role the
operation serves (an auditor for the log, Leiden for its inbox and regie,
any party for the directory); messages go as application/jose. Bounded in
examples per operation. The document is the contract integrators generate
clients from: every response must match it.
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from gateway import config
from gateway.bootstrap import build_services
from gateway.devtools import demo, synthetic
from gateway.web.app import create_app

_INSTANCE = tempfile.mkdtemp(prefix="schemathesis-")
_SERVICES = build_services(config.from_env({"GATEWAY_INSTANCE": _INSTANCE}), checkpointer=True)
_CAST = demo.register_cast(_SERVICES, "http://localhost", datetime.now(UTC))
_CONFIG = schemathesis.Config.from_dict(
    {
        # 413 is a refusal too: a batch of more than 1,000 items is too large content
        "checks": {"negative_data_rejection": {"expected-statuses": [
            400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]}},
    }
)  # fmt: skip
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", create_app(_SERVICES, {"CHECKPOINT_THREAD": False}), config=_CONFIG
)


@pytest.fixture(autouse=True)
def _checkpointed() -> None:
    """No thread signs checkpoints here (CHECKPOINT_THREAD off): one is signed before each
    test, so the entries made at import never wait past the grace, however late the test
    runs (under pytest-xdist a file may run minutes after its collection)."""
    _SERVICES.checkpoints.sign(datetime.now(UTC))


@schema.auth()
class Assertion:
    """A fresh assertion for every request (each jti is single use), by a party whose
    role the operation serves."""

    def get(self, case: Any, ctx: Any) -> str:
        return ""

    def set(self, case: Any, data: str, ctx: Any) -> None:
        party = demo.AUDITOR if case.operation.path.startswith("/v1/audit") else demo.LEIDEN
        token = _CAST.client(party).assertion()
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _signed_profile(seed: int) -> str:
    """A handover profile COA signs now: what a schema-valid message is (the JWS's
    validity cannot be said in JSON Schema, so the generator is given real ones)."""
    rng = random.Random(seed)
    person = synthetic.Newcomer.make(rng)
    return _CAST.client(demo.COA).sign(demo.profile(person, rng, datetime.now(UTC)))


def _issued_profile(seed: int) -> str:
    """A version-2 handover profile COA issues now: its SD-JWT with every disclosure."""
    rng = random.Random(seed)
    person = synthetic.Newcomer.make(rng)
    payload = {**demo.profile(person, rng, datetime.now(UTC)), "version": 2}
    return _CAST.client(demo.COA).sign(payload)


schemathesis.openapi.media_type(
    "application/jose", st.integers(0, 10**9).map(_signed_profile).map(str.encode)
)
schemathesis.openapi.media_type(
    "application/sd-jwt", st.integers(0, 10**9).map(_issued_profile).map(str.encode)
)


@schemathesis.serializer("application/jose", "application/sd-jwt")
def _jose(ctx: Any, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@schemathesis.deserializer("text/plain", "application/jsonl")
def _text(ctx: Any, response: Any) -> str:
    return str(response.content.decode("utf-8"))


RELATED = {
    ("GET", "/v1/audit/export"): "start < end, end - start <= 100,000",
    ("GET", "/v1/audit/entries"): "start < end",
    ("GET", "/v1/audit/proofs/inclusion"): "index < tree_size <= the log's size now",
    ("GET", "/v1/audit/proofs/consistency"): "0 < first <= second <= the log's size now",
    ("GET", "/v1/newcomers/{v_number}/progress"): "now <= at <= now + 1,096 days",
    ("GET", "/v1/signals"): "now <= at <= now + 1,096 days",
    ("POST", "/v1/messages:batch"): "strict JSON: no lone surrogates, integers in 64 bits",
}
"""operations whose parameters must also stand in a relation JSON Schema cannot say
(to each other, to the log's size, to the clock): a schema-valid request may be refused
there, in a problem document the operation declares; every other check still holds"""


PER_ITEM = {("POST", "/v1/messages:batch")}
"""a batch whose items break the item schema is still a 200, each such item refused in
its own result: one bad item never sinks the others (docs/interface.md)"""


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_the_document_says(case: Any) -> None:
    operation = (case.operation.method.upper(), case.operation.path)
    excluded = [positive_data_acceptance] if operation in RELATED else []
    excluded += [negative_data_rejection] if operation in PER_ITEM else []
    case.call_and_validate(excluded_checks=excluded)


def test_every_operation_is_named_secured_and_shown_by_example() -> None:
    app = create_app(_SERVICES, {"CHECKPOINT_THREAD": False})
    document = app.test_client().get("/openapi.json").get_json()
    assert "bearerAssertion" in document["components"]["securitySchemes"]
    ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue  # the path's own parameters, not an operation
            ids.append(operation["operationId"])
            assert "security" in operation, (method, path)
            assert "default" not in operation["responses"], (method, path)  # no phantom Error
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if status.startswith("2"):
                        shown = "example" in content or "$ref" in content.get("schema", {})
                        assert shown, (method, path, status, media)
                    else:
                        assert media == "application/problem+json", (method, path, status)
    assert len(ids) == len(set(ids)) == 24
