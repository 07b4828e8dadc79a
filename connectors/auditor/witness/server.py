"""The witness's HTTP interface (C2SP tlog-witness), on the standard library's server.

``POST <prefix>/add-checkpoint`` and ``GET <prefix>/<sha256(origin) hex>/checkpoint``,
nothing else. The server is meant to sit behind a TLS front (nginx) and to
be reached by logs and monitors only, unauthenticated (the log's signature
on the checkpoint is the authentication), so it defends itself: the body is
capped, every socket read has a deadline and the body a total one, handler
threads are bounded (the accept loop waits when all are busy, and the
kernel's backlog queues the rest). One JSON line per request on stderr,
never the body: the origin appears only as the hash the monitors use.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import urlsplit

from connectors.auditor.witness.state import WitnessState
from gateway.client.witness import SIZE_TYPE, CosigningKey, Refused, parse_request

MAX_BODY = 256 * 1024
"""bytes: a request is an old size, at most 63 hashes and a checkpoint of a few signatures"""
READ_SECONDS = 10.0
"""the deadline of each socket read, and of the whole body"""
MAX_THREADS = 32
PLAIN = "text/plain; charset=utf-8"
_DRAIN = 4 * MAX_BODY
"""a body up to this size is read and dropped before a 413, so the client reads the answer
instead of a connection reset"""
_CHECKPOINT = re.compile(r"/([0-9a-f]{64})/checkpoint")
_DIGITS = re.compile(r"[0-9]{1,19}")


class WitnessServer(ThreadingHTTPServer):
    """The witness on ``address``: its state, its key, its path prefix ("" or "/a/b")."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        state: WitnessState,
        key: CosigningKey,
        prefix: str = "",
        threads: int = MAX_THREADS,
        log: TextIO | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.key = key
        self.prefix = prefix
        self._slots = threading.BoundedSemaphore(threads)
        self._log = log or sys.stderr
        self._log_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Binds without HTTPServer's reverse DNS lookup of the host (slow where DNS is)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        """Waits for a free handler thread: bounded threads, back-pressure on the accepts."""
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def log(self, line: dict[str, Any]) -> None:
        text = json.dumps({"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                           **line}, ensure_ascii=False)  # fmt: skip
        with self._log_lock:
            self._log.write(text + "\n")
            self._log.flush()


class _Handler(BaseHTTPRequestHandler):
    """One connection (HTTP/1.1 keep-alive, as the spec recommends): its requests in turn."""

    server: WitnessServer
    protocol_version = "HTTP/1.1"
    timeout = READ_SECONDS  # StreamRequestHandler sets it on the socket: every read
    server_version = "gateway-witness"
    _kind = "other"
    _origin: str | None = None
    _size: int | None = None
    _started = 0.0

    def handle_one_request(self) -> None:
        self._kind, self._origin, self._size = "other", None, None
        self._started = time.monotonic()
        super().handle_one_request()

    def parse_request(self) -> bool:
        self._started = time.monotonic()  # from the request line: not a keep-alive's idling
        return super().parse_request()

    def version_string(self) -> str:
        return self.server_version

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_OPTIONS(self) -> None:
        self._route("OPTIONS")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        prefix = self.server.prefix
        rest = path[len(prefix):] if path.startswith(prefix) else ""  # fmt: skip
        found = _CHECKPOINT.fullmatch(rest)
        if rest == "/add-checkpoint":
            self._kind, allowed = "add-checkpoint", "POST"
        elif found is not None:
            self._kind, allowed, self._origin = "checkpoint", "GET", found.group(1)
        else:
            allowed = ""
        if method != allowed:
            # a body left unread would be read as the next request: end the connection
            self.close_connection = self.close_connection or self._has_body()
            if allowed:
                self._answer(405, f"use {allowed}\n", headers={"Allow": allowed})
            else:
                self._answer(404, "no such resource\n")
            return
        try:
            if allowed == "POST":
                self._add_checkpoint()
            else:
                self._checkpoint(found.group(1) if found else "")
        except OSError:
            self.close_connection = True  # the client went away mid-answer
        except Exception as error:  # an answer and a log line, never a traceback
            self.server.log({"event": "error", "path": self._kind, "error": type(error).__name__})
            self.close_connection = True
            self._answer(500, "the witness failed; try again later\n")

    def _has_body(self) -> bool:
        length = self.headers.get("Content-Length", "0").strip()
        return self.headers.get("Transfer-Encoding") is not None or length not in ("", "0")

    def _add_checkpoint(self) -> None:
        body = self._body()
        if body is None:
            return
        try:
            request = parse_request(body)
            self._peek(request.checkpoint)
            cosigned = self.server.state.add_checkpoint(request, self.server.key)
        except Refused as refused:
            if refused.answer == 409:
                self._answer(409, f"{refused.size}\n", SIZE_TYPE)
            else:
                self._answer(refused.answer, " ".join(str(refused).split()) + "\n")
            return
        self._answer(200, cosigned.lines)

    def _checkpoint(self, origin_hash: str) -> None:
        note = self.server.state.checkpoint(origin_hash)
        if note is None:
            self._answer(404, "this witness has cosigned no checkpoint of that origin\n")
            return
        self._size = _size_of(note)
        self._answer(200, note, headers={"Cache-Control": "no-cache"})

    def _body(self) -> bytes | None:
        """The request's body, or None when it was answered already (411, 400, 413, 408)."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            self._answer(411, "send the body with a Content-Length, not chunked\n")
            return None
        given = self.headers.get("Content-Length")
        if given is None or not _DIGITS.fullmatch(given):
            self.close_connection = self.close_connection or given is not None
            self._answer(411 if given is None else 400, "a Content-Length is required\n")
            return None
        length = int(given)
        if length > MAX_BODY:
            self.close_connection = True
            if length <= _DRAIN:
                self._read(length)
            self._answer(413, f"the body is larger than {MAX_BODY} bytes\n")
            return None
        body = self._read(length)
        if body is None:
            self.close_connection = True
            self._answer(408, "the body did not arrive in time\n")
        return body

    def _read(self, length: int) -> bytes | None:
        """``length`` bytes within READ_SECONDS in all; None when late or cut off."""
        deadline = time.monotonic() + READ_SECONDS
        chunks: list[bytes] = []
        left = length
        try:
            while left > 0:
                if time.monotonic() > deadline:
                    return None
                chunk = self.rfile.read1(min(left, 65536))
                if not chunk:
                    return None
                chunks.append(chunk)
                left -= len(chunk)
        except TimeoutError:
            return None
        return b"".join(chunks)

    def _peek(self, checkpoint: str) -> None:
        """The origin's hash and the size, for the log line: read loosely, as judged later."""
        origin = checkpoint.partition("\n")[0]
        self._origin = hashlib.sha256(origin.encode()).hexdigest()
        self._size = _size_of(checkpoint)

    def _answer(
        self, status: int, text: str, content_type: str = PLAIN,
        headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (a bad request line, headers too large, an
        unknown method) as one plain line, like ours."""
        self.close_connection = True
        self._answer(code, (message or HTTPStatus(code).phrase) + "\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.log({
            "method": getattr(self, "command", None), "path": self._kind,
            "status": int(code) if _DIGITS.fullmatch(str(code)) else None,
            "origin": self._origin,
            "size": self._size, "ms": round((time.monotonic() - self._started) * 1000, 1),
        })  # fmt: skip

    def log_message(self, format: str, *args: Any) -> None:
        """The base class's other messages (a timed-out read): a JSON line, like the rest."""
        self.server.log({"event": "error", "error": " ".join((format % args).split())[:200]})


def _size_of(checkpoint: str) -> int | None:
    """The second line of a checkpoint, when it is a size."""
    lines = checkpoint.split("\n", 2)
    return int(lines[1]) if len(lines) > 2 and _DIGITS.fullmatch(lines[1]) else None
