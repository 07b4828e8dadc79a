"""Standalone ``gateway serve`` against slow clients: each request read under a deadline.

16 connections that trickle their headers or body (one byte a second, for
up to 15 s) against 1 worker with 4 threads: without the deadline they hold
every thread for as long as they trickle; with it (2 s here) each gets
``408`` and is closed, and ordinary requests are answered again within a
few deadlines. Bounded in time and count, 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.devtools.serverproc import ServerProcess

pytestmark = pytest.mark.e2e
TRICKLE_FOR = 15.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"GATEWAY_READ_TIMEOUT_SECONDS": "2"}
    with ServerProcess(tmp_path / "instance", workers=1, threads=4, env=env) as proc:
        yield proc


def _trickle(port: int, body: bool, answers: list[bytes]) -> None:
    conn = socket.create_connection(("127.0.0.1", port), timeout=TRICKLE_FOR + 5)
    head = b"GET /v1/health HTTP/1.1\r\nHost: t\r\n"
    if body:
        head = (b"POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/jose\r\n"
                b"Content-Length: 900\r\n\r\n")  # fmt: skip
    try:
        conn.sendall(head)
        until = time.monotonic() + TRICKLE_FOR
        while time.monotonic() < until:
            conn.sendall(b"a" if body else b"X")
            time.sleep(1.0)
    except OSError:
        pass  # closed by the server: what the deadline is for
    try:
        conn.settimeout(2)
        answers.append(conn.recv(64))
    except OSError:
        answers.append(b"")
    finally:
        conn.close()


def _start_trickling(port: int, count: int, answers: list[bytes]) -> list[threading.Thread]:
    """``count`` slow clients, every other one with a body, under way for half a second."""
    slow = [threading.Thread(target=_trickle, args=(port, i % 2 == 1, answers))
            for i in range(count)]  # fmt: skip
    for thread in slow:
        thread.start()
    time.sleep(0.5)
    return slow


def test_slow_clients_are_cut_off_and_the_others_served_again(server: ServerProcess) -> None:
    answers: list[bytes] = []
    slow = _start_trickling(server.port, 16, answers)
    started, served_after = time.monotonic(), None
    while time.monotonic() - started < 12:
        try:
            requests.get(server.url + "/v1/health", timeout=1).raise_for_status()
            served_after = time.monotonic() - started
            break
        except requests.RequestException:
            time.sleep(0.1)
    for thread in slow:
        thread.join(timeout=TRICKLE_FOR + 10)
    assert served_after is not None and served_after < 12, "the slow clients held every thread"
    assert len(answers) == 16
    assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) >= 8, answers
    fast = time.monotonic()
    requests.get(server.url + "/v1/health", timeout=5).raise_for_status()
    assert time.monotonic() - fast < 1.0


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"GATEWAY_READ_TIMEOUT_SECONDS": "10"}
    with ServerProcess(tmp_path / "instance", workers=1, threads=4, env=env) as proc:
        yield proc


def test_a_crowd_of_slow_clients_holds_at_most_half_the_threads(crowded: ServerProcess) -> None:
    """24 slow clients queued ahead of everyone, the deadline 10 s: two of the four
    threads may wait on them, the rest are cut within the grace, and ordinary
    requests are answered within seconds, not after 24 / 4 deadlines (a minute)."""
    answers: list[bytes] = []
    slow = _start_trickling(crowded.port, 24, answers)
    started = time.monotonic()
    waits: list[tuple[float, float]] = []  # (asked after s, answered in s)
    while time.monotonic() - started < 9:  # within the first deadline of the slow ones
        asked = time.monotonic()
        try:
            requests.get(crowded.url + "/v1/health", timeout=2).raise_for_status()
            waits.append((asked - started, time.monotonic() - asked))
        except requests.RequestException:
            waits.append((asked - started, float("inf")))
        time.sleep(0.2)
    for thread in slow:
        thread.join(timeout=TRICKLE_FOR + 10)
    first = next((i for i, (_, w) in enumerate(waits) if w != float("inf")), None)
    assert first is not None, "no ordinary request answered while the crowd trickled"
    assert waits[first][0] < 5, waits  # the crowd was let go in a few seconds
    after = [w for _, w in waits[first:]]
    assert max(after) < 1.0, waits  # and then the others were served at once
    assert len(answers) == 24
    assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) >= 22, answers
