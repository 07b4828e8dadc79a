"""Small deviations from the contract, found from outside (issue #26, item 5), over HTTP.

Every answer is ``application/problem+json`` with a contract code: routing's
(no 308 redirect with an HTML body), and the server's own refusals of a
request line or headers over its limits and of a request that does not
arrive in time (gunicorn's HTML pages before). A problem never echoes a
control character. A progress report's ``hours`` names at least one kind; a
delivery id is one value in either case, as a message id is.
"""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.vocabulary import API_VERSION
from gateway.errors import BY_CODE, SchemaViolation
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"
CONTRACT_CODES = {*BY_CODE, "not-found", "method-not-allowed", "internal-error"}


def _problem(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:200])
    assert response.headers["Content-Type"] == PROBLEM, response.headers
    document: dict[str, Any] = response.json()
    assert document["code"] == code and document["status"] == status
    assert code in CONTRACT_CODES
    return document


def _raw(url: str, request: bytes) -> bytes:
    """Send ``request`` as it is over a socket; the whole answer (the server closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _raw_problem(answer: bytes, status: int, code: str) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), lines
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert fields["content-type"] == PROBLEM and int(fields["content-length"]) == len(body)
    assert fields["api-version"] == API_VERSION  # the server's own refusals carry it too
    import json

    document: dict[str, Any] = json.loads(body)
    assert document["code"] == code and document["status"] == status and document["trace_id"]
    assert b"<" not in body  # no markup, nothing of the request echoed
    return document


@pytest.mark.parametrize(
    "path",
    [
        "/v1/newcomers/%2FV1234567890/progress",
        "/v1/newcomers/V12345%2F67890/progress",
        "/v1/newcomers/V1234567890%2f/access-report",
        "/v1//health",
        "/v1/audit/subjects/%2F",
    ],
)
def test_a_slash_in_a_path_segment_is_a_404_problem_not_a_redirect(
    server: ServerProcess, path: str
) -> None:
    answer = requests.get(server.url + path, allow_redirects=False, timeout=10)
    _problem(answer, 404, "not-found")
    assert "Location" not in answer.headers


def test_a_request_line_over_the_limit_is_a_414_problem(server: ServerProcess) -> None:
    answer = requests.get(server.url + "/v1/inbox?after=" + "1" * 5000, timeout=10)
    document = _problem(answer, 414, "uri-too-long")
    assert "1111" not in document["detail"]


def test_headers_over_the_limits_are_a_431_problem(server: ServerProcess) -> None:
    many = {f"X-Filler-{i}": "x" for i in range(60)}
    _problem(requests.get(server.url + "/v1/health", headers=many, timeout=10),
             431, "headers-too-large")  # fmt: skip
    long = {"X-Long": "y" * 9000}
    _problem(requests.get(server.url + "/v1/health", headers=long, timeout=10),
             431, "headers-too-large")  # fmt: skip


def test_a_request_gunicorn_cannot_parse_is_a_400_problem(server: ServerProcess) -> None:
    answer = _raw(server.url, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad\x00Name: 1\r\n\r\n")
    document = _raw_problem(answer, 400, "bad-request")
    assert "\x00" not in document["detail"] and "Bad" not in document["detail"]
    _raw_problem(_raw(server.url, b"BREW /v1/health HTCPCP/1.0\r\n\r\n"), 400, "bad-request")


def test_the_unknown_parameter_problem_echoes_no_raw_name(server: ServerProcess) -> None:
    for name, shown in (("limt", True), ("x\x00y", False), ("<b>", False), ("123456782", False)):
        answer = requests.get(server.url + "/v1/inbox", params={name: "1"}, timeout=10)
        detail = _problem(answer, 400, "bad-request")["detail"]
        assert (name in detail) is shown, detail
        assert not any(ord(c) < 32 or c == "\x7f" for c in detail), detail


def test_a_progress_report_with_no_kind_of_hours_is_refused(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 36_100)
    assert newcomer.assign() == 202
    with pytest.raises(SchemaViolation) as refused:
        newcomer.report(hours={})
    assert [e["pointer"] for e in refused.value.errors] == ["/body/hours"]
    assert newcomer.report(hours={"participation": 3}) == 202


def test_an_upper_case_delivery_id_acknowledges_the_delivery(cast: demo.Cast) -> None:
    coa, leiden = cast.client(demo.COA), cast.client(demo.LEIDEN)
    rng = random.Random(36_200)
    person = synthetic.Newcomer.make(rng)
    profile = synthetic.payload(
        "handover-profile", synthetic.handover_profile(person, "GM0546", rng),
        sender=demo.COA, recipient=demo.LEIDEN, newcomer=person, issued_at=datetime.now(UTC),
    )  # fmt: skip
    assert coa.submit(coa.sign(profile)).status == 202

    def mine() -> list[str]:
        """The profile's deliveries, page by page: other tests share Leiden's inbox."""
        found, after = [], 0
        while True:
            page = leiden.get_json("/v1/inbox", limit=500, after=after)
            found += [d["delivery_id"] for d in page["deliveries"]
                      if d.get("message_id") == profile["message_id"]]  # fmt: skip
            if len(page["deliveries"]) < 500:
                return found
            after = page["next_cursor"]

    [delivery_id] = mine()
    leiden.ack(delivery_id.upper())
    assert mine() == []


def test_a_request_that_does_not_arrive_in_time_is_a_408_problem(tmp_path: Path) -> None:
    env = {"GATEWAY_READ_TIMEOUT_SECONDS": "0.5"}
    with ServerProcess(tmp_path / "instance", workers=1, threads=2, env=env) as server:
        answer = _raw(server.url, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
    _raw_problem(answer, 408, "request-timeout")
