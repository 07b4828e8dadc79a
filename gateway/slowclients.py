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
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

TIMEOUT = 408
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 35\r\n\r\nthe request did not arrive in time\n"
)


def read_timeout() -> float:
    try:
        return max(0.5, float(os.environ.get("GATEWAY_READ_TIMEOUT_SECONDS", "10")))
    except ValueError:
        return 10.0


class DeadlineSocket:
    """A client socket whose reads share one deadline per request; everything else is
    the socket's own (the poller registers it by ``fileno``)."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None
        self.timed_out = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def new_request(self) -> None:
        """The next read starts a request's clock (keep-alive: a new request)."""
        self._deadline = None

    def recv(self, size: int, *flags: int) -> bytes:
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self._seconds
        left = self._deadline - now
        if left <= 0 or self.timed_out:
            return self._expire()
        previous = self._sock.gettimeout()
        self._sock.settimeout(left)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            return self._expire()
        finally:
            self._sock.settimeout(previous)

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
    """gunicorn's gthread worker, every request read under a deadline."""

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, read_timeout())
        conn.sock.new_request()
        keep = super().handle(conn)
        return False if conn.sock.timed_out else keep
