"""Every answer of the app carries API-Version, as the NLGov API Design Rules ask
(/core/version-header, issue #28 item 3), over HTTP against the real server.

Successes, problem documents (routing's 404 and 405, a refused bearer assertion,
an unknown query parameter, an encoded slash, a wrong media type) and the health
endpoint: each answer names the API's full version, the one the served document
gives as ``info.version``, and the document declares the header on every
response of every operation.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from requests import Response

from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess

pytestmark = pytest.mark.e2e
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
PROBLEM = "application/problem+json"


def _version(server: ServerProcess) -> str:
    document = requests.get(server.url + "/openapi.json", timeout=30).json()
    version: str = document["info"]["version"]
    assert SEMVER.fullmatch(version), version
    return version


def test_every_answer_names_the_full_version(server: ServerProcess, cast: demo.Cast) -> None:
    version = _version(server)
    leiden, coa = cast.client(demo.LEIDEN), cast.client(demo.COA)
    rng = random.Random(2028)
    person = synthetic.Newcomer.make(rng)
    message = coa.sign(demo.profile(person, rng, datetime.now(UTC), recipient=demo.LEIDEN))

    def call(method: str, path: str, *, bearer: bool = False, **kwargs: Any) -> Response:
        headers = kwargs.pop("headers", {})
        if bearer:
            headers["Authorization"] = f"Bearer {leiden.assertion()}"
        return requests.request(method, server.url + path, headers=headers, timeout=30, **kwargs)

    jose = {"Content-Type": "application/jose"}
    answers = {
        "health": (call("GET", "/v1/health"), 200),
        "jwks": (call("GET", "/.well-known/jwks.json"), 200),
        "openapi": (call("GET", "/openapi.json"), 200),
        "note key (text/plain)": (call("GET", "/v1/audit/note-key"), 200),
        "intake": (call("POST", "/v1/messages", data=message, headers=jose), 202),
        "checkpoint": (call("GET", "/v1/audit/checkpoint", bearer=True), 200),
        "inbox": (call("GET", "/v1/inbox", bearer=True), 200),
    }
    delivery = _delivery_of(person.v_number, lambda after: call(
        "GET", f"/v1/inbox?after={after}&limit=500", bearer=True).json())  # fmt: skip
    answers |= {
        "ack (no content)": (call("POST", f"/v1/inbox/{delivery}/ack", bearer=True), 204),
        "unknown path": (call("GET", "/v1/nothing-here"), 404),
        "encoded slash": (call("GET", "/v1/audit/subjects/12345%2F67890"), 404),
        "no assertion": (call("GET", "/v1/inbox"), 401),
        "role may not": (call("GET", "/v1/audit/entries", bearer=True), 403),
        "unknown delivery": (call("POST", f"/v1/inbox/{uuid.uuid4()}/ack", bearer=True), 404),
        "unknown query parameter": (call("GET", "/v1/inbox?bogus=1", bearer=True), 400),
        "method not allowed": (call("DELETE", "/v1/health"), 405),
        "wrong media type": (
            call("POST", "/v1/messages", data=message, headers={"Content-Type": "text/plain"}),
            415,
        ),
    }
    for name, (answer, status) in answers.items():
        assert answer.status_code == status, (name, answer.status_code, answer.text[:200])
        if status >= 400:
            assert answer.headers["Content-Type"] == PROBLEM, name
        assert answer.headers.get("API-Version") == version, (name, dict(answer.headers))


def _delivery_of(v_number: str, page: Callable[[int], dict[str, Any]]) -> str:
    """The id of the delivery of the profile just sent for ``v_number`` in Leiden's inbox
    (the server is shared: only this test's own delivery is acknowledged)."""
    after = 0
    while True:
        found = page(after)
        for delivery in found["deliveries"]:
            if delivery["subject"]["v_number"] == v_number:
                return str(delivery["delivery_id"])
        assert found["deliveries"], "the profile sent is not in the inbox"
        after = found["next_cursor"]


def test_the_document_declares_the_header_on_every_response(server: ServerProcess) -> None:
    document = requests.get(server.url + "/openapi.json", timeout=30).json()
    header = document["components"]["headers"]["API-Version"]
    assert header["required"] is True
    assert re.fullmatch(header["schema"]["pattern"], document["info"]["version"])
    responses = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                ref = response.get("headers", {}).get("API-Version")
                assert ref == {"$ref": "#/components/headers/API-Version"}, (method, path, status)
                responses += 1
    assert responses > 21  # every operation, its success and its problems
