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

Whatever this worker answers itself is a problem document like the app's,
with a contract code: the 408 here, and gunicorn's refusals of a request it
cannot parse (``414 uri-too-long`` past ``limit_request_line``, ``431
headers-too-large`` past the header limits, ``400 bad-request`` for the
rest), which gunicorn would send as HTML pages naming the offending bytes.

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

import json
import os
import select
import socket
import ssl
import threading
import time
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from gateway import logs
from gateway.domain.audit import events
from gateway.domain.vocabulary import API_VERSION, VERSION_HEADER
from gateway.errors import (
    BadRequest,
    GatewayError,
    HeadersTooLarge,
    RequestTimeout,
    UriTooLong,
)

log = logs.get("gateway.http")
TIMEOUT = 408


def problem_response(error: GatewayError) -> bytes:
    """A whole HTTP/1.1 answer carrying ``error`` as problem+json; the connection closes.

    Its trace id is new (no request was read far enough to carry one) and is
    logged with the code, so support can find the line.
    """
    trace = events.new_trace_id()
    body = json.dumps(
        {
            "type": f"urn:inburgering-gateway:problem:{error.code}",
            "title": error.title,
            "status": error.status,
            "code": error.code,
            "detail": error.detail,
            "trace_id": trace,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\nConnection: close\r\n"
        "Content-Type: application/problem+json\r\nCache-Control: no-store\r\n"
        f"traceparent: 00-{trace}-{events.new_trace_id()[:16]}-01\r\n"
        f"{VERSION_HEADER}: {API_VERSION}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    log.info("request_refused", status=error.status, code=error.code, trace_id=trace)
    return head.encode("ascii") + body


def server_problem(exc: BaseException, cfg: Any) -> GatewayError:
    """The problem of an error gunicorn's worker meets before or after the app: a client's
    request it cannot parse, or (a bug, or a response header the app got wrong) a 500."""
    if isinstance(exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)):
        return GatewayError()
    if isinstance(exc, http_errors.LimitRequestLine):
        return UriTooLong(
            f"the request line (path and query) exceeds {cfg.limit_request_line} bytes"
        )
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return HeadersTooLarge(
            f"at most {cfg.limit_request_fields} header fields of at most "
            f"{cfg.limit_request_field_size} bytes each"
        )
    if isinstance(exc, http_errors.ConfigurationProblem):
        return GatewayError()
    if isinstance(exc, (http_errors.ParseException, ssl.SSLError)):
        return BadRequest("the request is not well-formed HTTP/1.1")
    return GatewayError()


TIMED_OUT = "the request did not arrive in time"
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
                self._sock.sendall(problem_response(RequestTimeout(TIMED_OUT)))
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return b""


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, every request read under a deadline, and at most half
    its threads waiting on clients' bytes at once; its own answers are problems."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's own answer, as a problem document (gunicorn's is an HTML page that
        quotes the request line or header, and logs it: neither here)."""
        error = server_problem(exc, self.cfg)
        if error.status >= 500:
            log.error("server_error", error_type=logs.error_kind(exc))
        try:
            util.write_nonblock(client, problem_response(error))
        except Exception:  # the client is gone: nothing to answer
            log.info("server_answer_not_sent", status=error.status)

    def init_process(self) -> None:
        self.waiting_places = WaitingPlaces(self.cfg.threads // 2)
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, read_timeout(), self.waiting_places)
        conn.sock.new_request()
        keep = super().handle(conn)
        return False if conn.sock.timed_out else keep
