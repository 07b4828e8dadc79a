"""DUO as the tests meet it: Stoplight Prism serving DUO's own OpenAPI documents, behind nginx.

Nobody here wrote this DUO: each API is its own Prism mock server started on
the document DUO publishes (tests/duo/openapi, copied unchanged), so a request
our connector makes is judged by DUO's field names, formats, required headers
and paths, not by a copy of our own understanding of them. Prism runs with
``--errors``: a request that breaks the document is answered with an error
(the document's own 400, with Prism's findings in the ``sl-violations``
header), and so is a response of Prism's own that would break it (500).
``--dynamic`` makes Prism generate its answers from the schemas (with
``--errors``, a static answer's ``API-Version: string`` would itself break
DUO's pattern and turn every answer into a 500).

In production all of DUO's APIs sit under one base URL (``https://{host}/v1``,
DUO's README "Basis pad URI"), so nginx stands in front of the Prism processes
and routes by path, as DUO's own front does: the connector is given one URL.
nginx logs every request with Prism's verdict as JSON Lines (``requests()``),
so a test asserts that every request it made was valid by DUO's documents.
Tests make DUO answer a documented status for chosen paths (``answer``): nginx
adds the ``Prefer: code=…`` header Prism honours, so the request is still
validated and the answer still generated from DUO's schema of that status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from gateway.devtools.serverproc import free_port

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / ".ci" / "duo" / "node_modules" / ".bin" / "prism"
OPENAPI = Path(__file__).resolve().parent / "openapi"
INSTALL = "npm ci --ignore-scripts --no-audit --no-fund --prefix .ci/duo"
"""what installs the pinned Prism (as .ci/run does)"""
STARTUP_SECONDS = 15.0
"""how long the Prism processes and nginx may take to answer, all together"""

_BSN = "[0-9]+"
ROUTES: dict[str, list[str]] = {
    "PIP": [rf"^/v1/personen/{_BSN}/PIP(\?|$)"],
    "GevolgdeUren": [rf"^/v1/personen/{_BSN}/uren(/|\?|$)"],
    "MAP,PVT,Zroute": [rf"^/v1/personen/{_BSN}/(map|pvt|zroute)(\?|$)"],
    "Contactpersoon": [r"^/v1/contactpersonen(/|\?|$)"],
    "Inburgeringsaanbod": [rf"^/v1/personen/{_BSN}/Inburgeringsaanbod/",
                           r"^/v1/instellingen(\?|$)"],
    "Inburgeringsplicht": [rf"^/v1/personen/{_BSN}/(inburgeringsplicht|doelgroep)(/|\?|$)"],
    "Inburgeringstermijn": [rf"^/v1/personen/{_BSN}/inburgeringstermijn(/|\?|$)",
                            r"^/v1/verlengingsgronden(\?|$)"],
    "Leerbaarheidstoets": [rf"^/v1/personen/{_BSN}/lbt/"],
    "Examen": [rf"^/v1/personen/{_BSN}/examens/"],
    "Ontheffing": [rf"^/v1/personen/{_BSN}/ontheffingen(\?|$)"],
    "Vrijstelling": [rf"^/v1/personen/{_BSN}/vrijstellingen(\?|$)"],
}  # fmt: skip
"""DUO's document → the paths under the one base URL that are its (nginx regexes on the
request URI). The Notificatie API is the municipality's to serve, not DUO's."""

_LOG = (
    '{"method":"$request_method","uri":"$request_uri","status":$status,'
    '"upstream":"$upstream_addr","violations":"$upstream_http_sl_violations",'
    '"content_type":"$upstream_http_content_type",'
    '"prefer":"$duo_prefer","berichtId":"$http_berichtid","bron":"$http_bron",'
    '"doel":"$http_doel","transaction":"$http_fsc_transaction_id","body":"$request_body"}'
)


def missing() -> str | None:
    """Why the mock cannot run here (no Prism, no nginx), or None."""
    from gateway.devtools.front import nginx_binary

    if not PRISM.exists():
        return f"Stoplight Prism is not installed: run `{INSTALL}`"
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx)"
    return None


@dataclass(frozen=True)
class Seen:
    """One request as the front passed it on, and Prism's verdict on it."""

    method: str
    uri: str
    status: int
    headers: dict[str, str]
    body: Any
    violations: list[dict[str, Any]]
    routed: bool
    """False: no DUO document has this path (nginx answered 404 itself)"""
    prism_error: bool
    """Prism answered with a problem of its own (no such path or method in the document,
    a violation): DUO's documents define no ``application/problem+json`` answer"""

    @property
    def valid(self) -> bool:
        """Routed to one of DUO's documents and not an error there by Prism's verdict."""
        errors = any(v.get("severity") == "Error" for v in self.violations)
        return self.routed and not errors and not self.prism_error


@dataclass
class DuoMock:
    """DUO's base URL, and what the Prism processes behind it saw."""

    url: str
    folder: Path
    nginx: subprocess.Popen[bytes]
    prisms: dict[str, int] = field(default_factory=dict)
    """document → its Prism's port"""
    _generation: int = 0

    def mark(self) -> int:
        """A place in the record: ``requests(since=mark)`` is what came after it."""
        log = self.folder / "access.log"
        return log.stat().st_size if log.exists() else 0

    def requests(self, since: int = 0) -> list[Seen]:
        """Every request the front passed on since ``since`` (a ``mark()``), oldest first."""
        _get(f"{self.url}/_mock/generation")  # nginx's one worker has logged all before it
        log = self.folder / "access.log"
        if not log.exists():
            return []
        with open(log, "rb") as fh:
            fh.seek(since)
            lines = fh.read().decode().splitlines()
        return [_seen(json.loads(line)) for line in lines if line.strip()]

    def answer(self, rules: dict[str, int]) -> None:
        """Make DUO answer ``status`` to requests whose URI matches each regex (``Prefer:
        code=…``, which DUO's document must list for that operation); ``{}`` undoes it."""
        lines = [f'    "~{pattern}" "code={status}";' for pattern, status in rules.items()]
        (self.folder / "prefer.map").write_text("\n".join(lines) + "\n")
        self._generation += 1
        (self.folder / "generation.conf").write_text(f'return 200 "{self._generation}";\n')
        os.kill(self.nginx.pid, signal.SIGHUP)
        _wait_until(self._reloaded, STARTUP_SECONDS, "nginx did not reload",
                    self.folder / "error.log")  # fmt: skip

    def _reloaded(self) -> bool:
        """The new configuration answers, and the old one's worker is gone (until then it
        may still take a connection: the old rules)."""
        if _get(f"{self.url}/_mock/generation") != str(self._generation):
            return False
        children = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            children += fields[1] == str(self.nginx.pid)  # the parent's pid
        return children == 1


def _seen(line: dict[str, Any]) -> Seen:
    violations = json.loads(line["violations"]) if line["violations"] else []
    try:
        body = json.loads(line["body"]) if line["body"] else None
    except ValueError:
        body = line["body"]
    headers = {name: line[name] for name in ("berichtId", "bron", "doel", "transaction")}
    prism_error = line["content_type"].startswith("application/problem+json")
    return Seen(line["method"], line["uri"], line["status"], headers, body, violations,
                routed=bool(line["upstream"]), prism_error=prism_error)  # fmt: skip


SENT_TO = ("PIP", "GevolgdeUren", "Inburgeringsplicht", "Inburgeringstermijn",
           "Leerbaarheidstoets", "Examen", "Vrijstelling", "Ontheffing")  # fmt: skip
"""the documents of what ``duo-send`` sends and ``duo-fetch`` asks: the ones the session's
mock serves"""


def session_mock(folder: Path) -> Iterator[DuoMock]:
    """The ``duo_mock`` fixture: DUO's documents of SENT_TO behind one base URL.

    Skips, saying how to install Prism, when it is not installed; fails instead
    when CI is set (CI installs it: .ci/run), as the PostgreSQL tests do.
    """
    import pytest

    why = missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, but {why}", pytrace=False)
        pytest.skip(why)
    with running(folder, SENT_TO) as mock:
        yield mock


@contextmanager
def running(folder: Path, documents: Sequence[str]) -> Iterator[DuoMock]:
    """Prism on each of ``documents`` (DUO's folder names), nginx in front; stopped after.

    Raises RuntimeError, with the process's own output, when one is not answering
    within STARTUP_SECONDS.
    """
    unrouted = [name for name in documents if name not in ROUTES]
    if unrouted:
        raise ValueError(f"no DUO API served at DUO's base URL: {unrouted} (see ROUTES)")
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        ports = {name: free_port() for name in documents}
        for name, port in ports.items():
            stack.enter_context(_running(_start_prism(name, port, folder)))
        listen = free_port()
        _write_config(folder, ports, listen)
        from gateway.devtools.front import nginx_binary

        log = open(folder / "nginx.out", "wb")  # noqa: SIM115 - closed by the stack
        stack.callback(log.close)
        nginx = subprocess.Popen([nginx_binary() or "nginx", "-p", str(folder), "-c",
                                  str(folder / "nginx.conf")], stdout=log, stderr=log)  # fmt: skip
        stack.enter_context(_running(nginx))
        mock = DuoMock(f"http://127.0.0.1:{listen}", folder, nginx, ports)
        deadline = time.monotonic() + STARTUP_SECONDS
        for name, port in ports.items():
            _wait_until(lambda port=port: _get(f"http://127.0.0.1:{port}/") is not None,
                        deadline - time.monotonic(), f"Prism on DUO's {name} did not start",
                        folder / f"prism-{name}.log")  # fmt: skip
        _wait_until(lambda: _get(f"{mock.url}/_mock/generation") == "0",
                    deadline - time.monotonic(), "nginx did not start",
                    folder / "error.log")  # fmt: skip
        yield mock


def _start_prism(name: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    document = OPENAPI / name / "openapi.yml"
    if not document.exists():
        raise ValueError(f"no DUO document {name} in {OPENAPI}")
    with open(folder / f"prism-{name}.log", "wb") as log:
        return subprocess.Popen(
            [str(PRISM), "mock", "--errors", "--dynamic", "--seed", "duo", "--host", "127.0.0.1",
             "--port", str(port), str(document)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


@contextmanager
def _running(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Ends ``proc`` (this one process, by its id) when the block ends."""
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _write_config(folder: Path, ports: dict[str, int], listen: int) -> None:
    routes = "\n".join(
        f'        "~{pattern}" 127.0.0.1:{ports[name]};'
        for name in ports for pattern in ROUTES[name]
    )  # fmt: skip
    (folder / "prefer.map").write_text("")
    (folder / "generation.conf").write_text('return 200 "0";\n')
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path client_body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;
    client_body_buffer_size 64k;
    log_format duo escape=json '{_LOG}';
    map $request_uri $duo_api {{
        default "";
{routes}
    }}
    map $request_uri $duo_prefer {{
        default "";
        include prefer.map;
    }}
    server {{
        listen 127.0.0.1:{listen};
        keepalive_timeout 0;
        location = /_mock/generation {{
            access_log off;
            include generation.conf;
        }}
        location / {{
            access_log access.log duo;
            if ($duo_api = "") {{
                return 404;
            }}
            rewrite ^/v1(/.*)$ $1 break;
            proxy_set_header Prefer $duo_prefer;
            proxy_pass http://$duo_api;
        }}
    }}
}}
""")


def _get(url: str) -> str | None:
    """The text of any answer at ``url``, or None when nothing answers there yet."""
    try:
        return requests.get(url, timeout=1).text
    except requests.RequestException:
        return None


def _wait_until(ready: Any, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + max(seconds, 0.0)
    while not ready():
        if time.monotonic() > deadline:
            output = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            raise RuntimeError(f"{what} within {STARTUP_SECONDS:g} s:\n{output}")
        time.sleep(0.05)
