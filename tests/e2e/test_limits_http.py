"""Body limits, chunked bodies, a busy database and the server's log lines, over HTTP."""

from __future__ import annotations

import socket
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.service import intake
from gateway.service.services import Services
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}
LIMIT = 256 * 1024


def _profile_token(cast: demo.Cast, seed: int) -> tuple[str, synthetic.Newcomer]:
    return profile_token(cast.client(demo.COA), seed)


@pytest.mark.parametrize(("size", "status"), [(LIMIT, 400), (LIMIT + 1, 413)])
def test_the_limit_is_inclusive(cast: demo.Cast, size: int, status: int) -> None:
    response = requests.post(cast.url + "/v1/messages", data=b"A" * size, headers=JOSE, timeout=10)
    assert response.status_code == status  # 400: read whole (and malformed), not cut


def test_a_chunked_message_within_the_limit_is_accepted(cast: demo.Cast) -> None:
    token, _ = _profile_token(cast, 101)
    chunks = iter([token[:500].encode(), token[500:].encode()])
    response = requests.post(cast.url + "/v1/messages", data=chunks, headers=JOSE, timeout=10)
    assert response.status_code == 202


def test_a_chunked_body_one_byte_over_the_limit_is_refused(cast: demo.Cast) -> None:
    chunks = iter([b"A" * LIMIT, b"A"])
    response = requests.post(cast.url + "/v1/messages", data=chunks, headers=JOSE, timeout=10)
    assert response.status_code == 413


def test_log_lines_carry_no_personal_data(cast: demo.Cast, server: ServerProcess) -> None:
    token, person = _profile_token(cast, 102)
    assert (
        requests.post(cast.url + "/v1/messages", data=token, headers=JOSE, timeout=10).status_code
        == 202
    )
    log = server.log.read_text()
    assert '"trace_id"' in log
    assert person.bsn is not None  # the newcomers of these tests have one
    for value in (
        person.v_number,
        person.bsn,
        person.family_name,
        person.birth_date,
        "Electrician",
    ):
        assert value not in log


def test_the_same_message_raced_by_two_threads_is_stored_once(
    cast: demo.Cast, server_services: Services
) -> None:
    token, _ = _profile_token(cast, 103)
    before = storage_of(server_services).count("messages")
    outcomes: list[intake.Outcome] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        outcomes.append(
            intake.accept(
                token.encode(), services=server_services, now=datetime.now(UTC), trace_id="0" * 32
            )
        )

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.status for o in outcomes) == [200, 200, 200, 202]
    assert len({o.receipt for o in outcomes}) == 1
    assert storage_of(server_services).count("messages") == before + 1
    indices = [e["index"] for e in storage_of(server_services).audit.entries()]
    assert indices == list(range(len(indices)))  # the losers' rollbacks left no gap


def test_a_database_locked_by_another_program_gives_503_with_retry_after(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {"GATEWAY_SQLITE_BUSY_TIMEOUT_MS": "200"}
    with ServerProcess(instance, env=env) as server:
        services_for(instance)  # migrated and ready
        blocker = sqlite3.connect(instance / "gateway.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            response = requests.post(
                server.url + "/v1/messages", data=b"x", headers=JOSE, timeout=10
            )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert response.status_code == 503
        assert response.json()["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        # Once the other program lets go, the same request is served again.
        assert (
            requests.post(
                server.url + "/v1/messages", data=b"x", headers=JOSE, timeout=10
            ).status_code
            == 400
        )


def _response(conn: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response off a kept-alive connection: status line and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the gateway closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                 .split(b":")[1])  # fmt: skip
    while len(body) < length:
        body += conn.recv(65536)
    return head.split(b"\r\n")[0], body


def test_a_refused_oversized_body_leaves_the_kept_alive_connection_usable(
    server: ServerProcess,
) -> None:
    """A proxy reuses connections: after a 413 the next request on it must be served."""
    body = b"a" * (300 * 1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/jose\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        status, _ = _response(conn)
        assert status.startswith(b"HTTP/1.1 413")
        conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        status, answer = _response(conn)
        assert status.startswith(b"HTTP/1.1 200") and b'"ok"' in answer
