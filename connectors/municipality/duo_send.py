"""Sending to DUO: the PIP and the hours followed, by DUO's M2M API for gemeenten.

What ``duo-export`` writes as files, this sends: per newcomer placed with the
municipality who has a BSN, ``POST /personen/{bsn}/PIP`` and the three
GevolgdeUren ``PUT``s, with DUO's headers ``berichtId``, ``bron`` (the
municipality's OIN) and ``doel`` (DUO's), and an ``Fsc-Transaction-Id`` of
its own per request, over the municipality's TLS client certificate.

DUO keeps one PIP and one total per kind of hours, so a request need only be
sent when what it says has changed. A state file of the municipality's own
keeps, per request, what DUO was last told and what it answered; a second
run sends only what changed. It holds no personal data: each request is
keyed by an HMAC of (operation, BSN), its body by a keyed digest, both with a
secret derived from the municipality's private key (``duo.secret_of``), so
nobody without that key can test BSNs or totals against the file.

DUO's answers, as its documents and README say: 2xx accepted; ``403`` with
``Foutmelding``s (PIP 1.2.0: "Foutmeldingen worden nu teruggeven als een
HTTP403") is DUO refusing the melding on its rules: kept with DUO's words and
not sent again until the body changes; ``400``/``404`` fail that request
alone (sent again next run); ``401``, ``5xx`` (``503``: maintenance) and no
answer at all stop the run, the rest left unsent for the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import requests

from connectors.common.client import NOT_A_URL, TRANSIENT, GatewayClient, cause_of
from connectors.municipality import duo
from connectors.municipality.messages import placed_newcomers
from gateway.client import wire
from gateway.errors import BadRequest, Conflict, GatewayError

ACCEPTED, REFUSED, SENT = "accepted", "refused", "sent"
"""A request's outcome as the state file keeps it: DUO took it (2xx), refused it (403), or
it was sent and no answer kept (kept before each request: DUO may have taken a request
whose answer was lost, so the next run sends the current body, whatever it is)"""
STOP_STATUSES = frozenset({401}) | frozenset(range(500, 600))
"""DUO's answers that stop the run: the certificate not taken, DUO down or in maintenance"""
TIMEOUT = (5.0, 30.0)
_URL = re.compile(r"https?://[^/?#\s]+(/[^?#\s]*)?")


class DuoStopped(GatewayError):
    """DUO could not take requests now: the run stopped, the rest left for the next one."""

    code = "duo-unavailable"
    title = "DUO unavailable"


class State:
    """The state file: per request key, what DUO was last told and what it answered.

    Append-only JSON Lines, flushed per line, so a run killed at any moment
    loses nothing it was told. The first line names the DUO it is about (URL,
    bron, doel): DUO's acceptance environment's answers say nothing about
    production's, and a file written for one is refused for another.
    """

    def __init__(self, path: Path, secret: bytes, duo_url: str, bron: str, doel: str) -> None:
        """Raises Conflict when ``path`` is the state of another DUO, bron or doel."""
        self.path, self._secret = path, secret
        self.latest: dict[str, dict[str, Any]] = {}
        header: dict[str, Any] | None = None
        if path.exists():
            for record in _records(path):
                if "duo" in record:
                    header = header or record["duo"]
                elif "key" in record:
                    self.latest[record["key"]] = record
        about = {"url": duo_url.rstrip("/"), "bron": bron, "doel": doel}
        if header is not None and header != about:
            raise Conflict(
                f"{path} is the state of DUO {header.get('url')} (bron {header.get('bron')}, "
                f"doel {header.get('doel')}), not of {about['url']} (bron {bron}, doel {doel}): "
                "give --state a new file to send everything to this DUO"
            )
        self._fh: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        if _torn(path):
            self._fh.write("\n")  # the next record on a line of its own, not glued to it
        if header is None:
            self._append({"duo": about})

    def key(self, operation: duo.Operation, bsn: str) -> str:
        """The request's key: the same operation for the same person, whatever it says."""
        return self._mac("key", operation.operation_id, bsn)

    def digest(self, operation: duo.Operation, body: Mapping[str, Any]) -> str:
        """The keyed digest of what the request says, to know the same body again."""
        return self._mac("digest", operation.operation_id, body)

    def unchanged(self, key: str, digest: str) -> dict[str, Any] | None:
        """DUO's last answer to this very body (accepted or refused), or None: send it (also
        when the last request of ``key`` was sent and not answered, whatever it said)."""
        record = self.latest.get(key)
        if record is None or record["digest"] != digest or record["outcome"] == SENT:
            return None
        return record

    def bericht_id(self, key: str, operation: duo.Operation, bsn: str, body: Mapping[str, Any],
                   bron: str, doel: str) -> str:  # fmt: skip
        """The berichtId of this request: ``duo.bericht_id_for``'s (duo-export's) for the
        first request of a key; after one, derived on from the last berichtId answered, so
        a body that returns to an earlier one (A, B, A) is a new message to DUO, never a
        second with the first's berichtId. A request DUO never answered (a run stopped)
        is, sent again, the very same message."""
        record, secret = self.latest.get(key), self._secret
        sent = record is not None and record["outcome"] == SENT
        if sent and record is not None and record["digest"] == self.digest(operation, body):
            return str(record["berichtId"])  # not answered: the very same message again
        if record is not None:
            after = b"after\0" + str(record["berichtId"]).encode()
            secret = hmac.new(self._secret, after, hashlib.sha256).digest()
        return duo.bericht_id_for(secret, operation, bsn, body, bron, doel)

    def keep(self, key: str, record: dict[str, Any]) -> None:
        """Append DUO's answer to a request, and take it as the latest of ``key``."""
        record = {"key": key, **record}
        self._append(record)
        self.latest[key] = record

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def _append(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
        self._fh.flush()

    def _mac(self, *parts: Any) -> str:
        said = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self._secret, said, hashlib.sha256).hexdigest()


def _torn(path: Path) -> bool:
    """Whether the file's last line was cut off (a run killed while writing it)."""
    with open(path, "rb") as fh:
        if fh.seek(0, os.SEEK_END) == 0:
            return False
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line half-written when the run was killed
            if isinstance(record, dict):
                yield record


def default_state(client: GatewayClient) -> Path:
    """``<OIN>.duo.receipts.jsonl`` in the current folder, beside the party's receipts."""
    return Path.cwd() / f"{client.oin}.duo.receipts.jsonl"


def check_duo_url(url: str) -> str:
    """DUO's base URL without a trailing slash. Raises BadRequest saying what is wrong."""
    if not _URL.fullmatch(url.strip()):
        raise BadRequest(
            f"--duo-url {url!r} (GATEWAY_DUO_URL) is not an http(s) URL without ?query: give "
            "DUO's base URL with the major version, as https://duo.example/v1"
        )
    return url.strip().rstrip("/")


@dataclass
class Refusal:
    """A request DUO refused, named for the municipality: V-number, operation, DUO's words."""

    v_number: str
    operation: str
    texts: list[str]
    earlier: bool = False
    """refused by an earlier run, unchanged since: not sent again"""

    def line(self) -> str:
        when = "earlier, not sent again until it changes" if self.earlier else "now"
        said = "; ".join(self.texts[:3]) + (f" (and {len(self.texts) - 3} more)"
                                             if len(self.texts) > 3 else "")  # fmt: skip
        return f"{self.v_number} {self.operation}: refused by DUO ({when}): {said}"


@dataclass
class Run:
    """What one run did, counted, with the refusals and failures named."""

    sent: int = 0
    unchanged: int = 0
    not_sent: int = 0
    without_bsn: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """requests that failed alone (400, 404), named; sent again next run"""
    stopped: str | None = None
    """why the run stopped early, or None"""

    @property
    def refused(self) -> int:
        return sum(1 for r in self.refusals if not r.earlier)


@dataclass
class Duo:
    """DUO's base URL, and the municipality's connection to it."""

    url: str
    bron: str
    doel: str
    session: requests.Session

    def send(self, operation: duo.Operation, bsn: str, body: Mapping[str, Any],
             bericht_id: str) -> requests.Response:  # fmt: skip
        """One request, once. Raises DuoStopped, naming no person, when nothing answers."""
        headers = {
            "berichtId": bericht_id,
            "bron": self.bron,
            "doel": self.doel,
            wire.TRANSACTION_HEADER: wire.new_transaction_id(datetime.now(UTC)),
            "Accept": "application/json",
        }
        url = self.url + operation.path.format(bsn=bsn)
        try:
            return self.session.request(operation.method, url, json=dict(body), headers=headers,
                                        timeout=TIMEOUT, allow_redirects=False)  # fmt: skip
        except NOT_A_URL:
            raise BadRequest(f"--duo-url {self.url}: not a URL to send to") from None
        except TRANSIENT as error:
            why = cause_of(error, TIMEOUT[1])
            raise DuoStopped(f"DUO at {self.url} unreachable: {why}") from None


def send(client: GatewayClient, duo_api: Duo, state: State) -> Run:
    """Send every request that changed since DUO last answered it; return what was done.

    Each newcomer's plan and hours come from the gateway's progress read (one
    audited ``regie.read`` each). A stop (``Run.stopped``) ends the walk: the
    newcomers after it are not read, their requests left for the next run.
    """
    run = Run()
    for newcomer in placed_newcomers(client):
        bsn, v_number = newcomer.get("bsn"), newcomer["v_number"]
        if bsn is None or not re.fullmatch(r"[0-9]{9}", bsn):
            run.without_bsn += 1
            continue
        progress = client.get_json(f"/v1/newcomers/{v_number}/progress")
        for operation, body in _wanted(progress, run):
            if run.stopped:
                run.not_sent += 1
            else:
                _send_one(duo_api, state, run, (v_number, bsn), operation, body)
        if run.stopped:
            break  # the newcomers after it are not read (each read is audited)
    return run


def _wanted(progress: Mapping[str, Any], run: Run) -> list[tuple[duo.Operation, dict[str, Any]]]:
    """The requests of one newcomer's progress: the PIP of the plan in force, the hours."""
    wanted: list[tuple[duo.Operation, dict[str, Any]]] = []
    if progress.get("plan"):
        try:
            wanted.append((duo.PIP, duo.pip_body(progress["plan"])))
        except GatewayError as refused:  # DUO's rules; the gateway refuses such plans at intake
            run.failures.append(f"{progress['subject']['v_number']} pip: {refused.detail}")
    wanted += list(duo.hours_bodies(progress.get("hours", {})))
    return wanted


def _send_one(duo_api: Duo, state: State, run: Run, who: tuple[str, str],
              operation: duo.Operation, body: dict[str, Any]) -> None:  # fmt: skip
    """Send one request unless DUO already answered this very body; keep DUO's answer."""
    v_number, bsn = who
    key, digest = state.key(operation, bsn), state.digest(operation, body)
    earlier = state.unchanged(key, digest)
    if earlier is not None:
        run.unchanged += 1
        if earlier["outcome"] == REFUSED:
            run.refusals.append(Refusal(v_number, operation.name, earlier["answer"], True))
        return
    bericht_id = state.bericht_id(key, operation, bsn, body, duo_api.bron, duo_api.doel)
    record: dict[str, Any] = {
        "operation": operation.operation_id, "digest": digest, "berichtId": bericht_id,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    state.keep(key, {**record, "status": None, "outcome": SENT, "answer": None})
    try:
        answer = duo_api.send(operation, bsn, body, bericht_id)
    except DuoStopped as stop:
        run.stopped, run.not_sent = stop.detail, run.not_sent + 1
        return
    status = answer.status_code
    record["status"] = status
    if 200 <= status < 300:
        state.keep(key, {**record, "outcome": ACCEPTED, "answer": None})
        run.sent += 1
    elif status == 403:
        texts = foutteksten(answer, bsn)
        state.keep(key, {**record, "outcome": REFUSED, "answer": texts})
        run.refusals.append(Refusal(v_number, operation.name, texts))
    elif status in STOP_STATUSES:
        run.stopped, run.not_sent = _stop_reason(duo_api, status, operation), run.not_sent + 1
    else:
        what = _WHAT.get(status, "not an answer its documents list")
        run.failures.append(f"{v_number} {operation.name}: DUO answered HTTP {status} ({what})")


_WHAT = {400: "Fout verzoek: the request is not as DUO's document says",
         404: "Niet gevonden: DUO does not know this person or resource"}  # fmt: skip


def _stop_reason(duo_api: Duo, status: int, operation: duo.Operation) -> str:
    if status == 401:
        return (f"DUO at {duo_api.url} did not accept the connection (HTTP 401 at "
                f"{operation.operation_id}): check --cert and --cert-key")  # fmt: skip
    what = "Service niet beschikbaar: maintenance" if status == 503 else "a server error"
    return f"DUO at {duo_api.url} answered HTTP {status} ({what}) at {operation.operation_id}"


def foutteksten(answer: requests.Response, bsn: str) -> list[str]:
    """DUO's words in a 403: the ``fouttekst`` of each ``Foutmelding`` (a list of them, or
    one), the person's BSN taken out should DUO name it. None given: a line saying so."""
    try:
        given = answer.json()
    except ValueError:
        given = None
    found = given if isinstance(given, list) else [given]
    texts = [str(item["fouttekst"])[:200] for item in found[:50]
             if isinstance(item, dict) and isinstance(item.get("fouttekst"), str)]  # fmt: skip
    if not texts:
        texts = ["HTTP 403 without a Foutmelding (DUO: niet geautoriseerd)"]
    return [text.replace(bsn, "[BSN]") for text in texts]
