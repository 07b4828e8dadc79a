"""The read deadline's waiting places, on a socket pair (no server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from gateway.slowclients import GRACE, DeadlineSocket, WaitingPlaces


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_bytes_already_there_are_read_without_a_place(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    places = WaitingPlaces(1)
    assert places.take()  # the only place is held elsewhere
    theirs.sendall(b"GET / HTTP/1.1\r\n")
    assert DeadlineSocket(ours, 5.0, places).recv(64) == b"GET / HTTP/1.1\r\n"


def test_a_read_that_must_wait_without_a_free_place_is_cut_after_the_grace(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    places = WaitingPlaces(1)
    assert places.take()
    started = time.monotonic()
    assert DeadlineSocket(ours, 5.0, places).recv(64) == b""  # the end of the data
    assert GRACE <= time.monotonic() - started < 1.0
    assert theirs.recv(64).startswith(b"HTTP/1.1 408")


def test_a_free_place_waits_up_to_the_deadline_and_is_given_back(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    places = WaitingPlaces(1)
    started = time.monotonic()
    assert DeadlineSocket(ours, 0.6, places).recv(64) == b""
    assert 0.6 <= time.monotonic() - started < 2.0
    assert theirs.recv(64).startswith(b"HTTP/1.1 408")
    assert places.take()  # given back after the wait


def test_a_request_arriving_at_a_real_clients_rate_waits_without_a_place(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A large upload over a slow link: 4 KB at once, the next segment after 0.4 s."""
    ours, theirs = pair
    places = WaitingPlaces(1)
    assert places.take()
    reader = DeadlineSocket(ours, 5.0, places)
    theirs.sendall(b"x" * 4096)
    assert len(reader.recv(8192)) == 4096
    threading.Timer(0.4, theirs.sendall, args=(b"y" * 512,)).start()
    assert reader.recv(8192) == b"y" * 512  # waited past the grace, not cut
    assert not reader.timed_out
