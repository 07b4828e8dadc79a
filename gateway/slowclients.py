"""Standalone serving against slow clients: a request must arrive within a deadline.

gunicorn's gthread worker reads a request's headers, and the app its body,
in a worker thread; a client that sends a byte now and then holds that
thread for as long as it likes, and eight of them stopped all service. This
worker gives every request a deadline from its first read
(``GATEWAY_READ_TIMEOUT_SECONDS``, default 10): each read waits at most what
is left of it. A client still sending when it passes gets ``408 Request
Timeout`` and its connection is closed, so a slow client holds a thread for
a bounded time and a fixed set of them cannot keep the service down.
(Behind nginx, which buffers whole requests, none of this is reached; see
docs/deploy.md.) Writing the answer is not bounded here: gunicorn's own
timeout and the kernel's send buffer handle a slow reader.

A deadline alone bounds how long each slow client holds a thread, not how
many threads a crowd of them holds: 200 of them, queued ahead of everyone
else, kept a 2 x 4 server from answering anyone for minutes (bench/servers.py
--slow). So at most half of a worker's threads (at least one) may wait for
a client's bytes at once; a read that finds nothing there while they are
all taken waits only a short grace (``GRACE``, enough for a segment on a
working network) and then that request gets its ``408``, unless its bytes
have been coming at a real client's rate (``MIN_RATE``, httpd's
mod_reqtimeout default): a large upload over a slow link waits as usual. A
request whose bytes are there never waits and never counts.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

TIMEOUT = 408
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 35\r\n\r\nthe request did not arrive in time\n"
)


_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
GRACE = 0.1
"""Seconds a read may wait for bytes when the worker's waiting places are all taken"""
MIN_RATE = 500
"""Bytes a second, on average since a request's first read, above which a request whose
reads must wait is not taken for a slow client"""


class WaitingPlaces:
    """How many of a worker's threads may wait on a client's bytes at once."""

    def __init__(self, places: int) -> None:
        self._free = max(1, places)
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._free == 0:
                return False
            self._free -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._free += 1


def read_timeout() -> float:
    try:
        return max(0.5, float(os.environ.get("GATEWAY_READ_TIMEOUT_SECONDS", "10")))
    except ValueError:
        return 10.0


class DeadlineSocket:
    """A client socket whose reads share one deadline per request; everything else is
    the socket's own (the poller registers it by ``fileno``)."""

    def __init__(
        self, sock: socket.socket, seconds: float, places: WaitingPlaces | None = None
    ) -> None:
        self._sock = sock
        self._seconds = seconds
        self._places = places or WaitingPlaces(1)
        self._deadline: float | None = None
        self._started = 0.0
        self._received = 0
        self.timed_out = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def new_request(self) -> None:
        """The next read starts a request's clock (keep-alive: a new request)."""
        self._deadline = None
        self._received = 0

    def recv(self, size: int, *flags: int) -> bytes:
        now = time.monotonic()
        if self._deadline is None:
            self._deadline, self._started = now + self._seconds, now
        left = self._deadline - now
        if left <= 0 or self.timed_out:
            return self._expire()
        if self._ready(0.0):
            return self._counted(self._sock.recv(size, *flags))  # there: no wait, no place
        if not self._places.take():
            # every waiting place is held by another slow read: a short grace only,
            # unless this request's bytes have been coming at a real client's rate
            if not self._ready(left if self._steady(now) else min(GRACE, left)):
                return self._expire()
            return self._counted(self._sock.recv(size, *flags))
        try:
            if not self._ready(left):
                return self._expire()
            return self._counted(self._sock.recv(size, *flags))
        finally:
            self._places.give_back()

    def _counted(self, data: bytes) -> bytes:
        self._received += len(data)
        return data

    def _steady(self, now: float) -> bool:
        """Whether this request has arrived at MIN_RATE or more (over at least a second)."""
        return self._received >= MIN_RATE * max(1.0, now - self._started)

    def _ready(self, seconds: float) -> bool:
        """Whether bytes (or the end of them) can be read within ``seconds``."""
        poller = select.poll()  # not select(): descriptors above 1024 are usual here
        poller.register(self._sock.fileno(), _READABLE)
        return bool(poller.poll(seconds * 1000))

    def _expire(self) -> bytes:
        """Say 408 once and close for reading: gunicorn's parser (or the app's body read)
        sees the end of the data and lets the connection go."""
        if not self.timed_out:
            self.timed_out = True
            try:
                self._sock.settimeout(1.0)
                self._sock.sendall(REQUEST_TIMEOUT)
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return b""


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, every request read under a deadline, and at most half
    its threads waiting on clients' bytes at once."""

    def init_process(self) -> None:
        self.waiting_places = WaitingPlaces(self.cfg.threads // 2)
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, read_timeout(), self.waiting_places)
        conn.sock.new_request()
        keep = super().handle(conn)
        return False if conn.sock.timed_out else keep
