"""The witnesses' port in memory (``ports.WitnessPort``), for the fakes of the store."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from gateway.domain.audit.notes import ED25519_COSIGNATURE, parse_note
from gateway.domain.audit.witnessed import View
from gateway.domain.audit.witnessing import (
    SIZE_TYPE,
    CosigningKey,
    Latest,
    Refused,
    Request,
    judge,
    parse_request,
)
from gateway.domain.records import StoredCheckpoint
from gateway.errors import ServiceUnavailable


class FakeWitnesses:
    def __init__(self, checkpoints: dict[int, StoredCheckpoint] | None = None) -> None:
        self.checkpoints = checkpoints if checkpoints is not None else {}
        """seq → checkpoint, as the log holds them (for ``witnessed``)"""
        self.leases: dict[str, tuple[str, datetime]] = {}
        self.cosignatures: dict[int, dict[str, str]] = {}
        self.seen: dict[tuple[str, str], View] = {}
        self._lock = threading.Lock()

    def take_lease(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        with self._lock:
            held = self.leases.get(name)
            if held is not None and held[0] != holder and held[1] >= now:
                return False
            self.leases[name] = (holder, now + length)
            return True

    def give_back(self, name: str, holder: str) -> None:
        with self._lock:
            if self.leases.get(name, ("",))[0] == holder:
                del self.leases[name]

    def keep(self, seq: int, lines: list[tuple[str, str, datetime]]) -> None:
        with self._lock:
            self.cosignatures.setdefault(seq, {}).update({w: line for w, line, _ in lines})

    def lines(self, seq: int) -> dict[str, str]:
        return dict(self.cosignatures.get(seq, {}))

    def cosigned(self, limit: int) -> list[tuple[StoredCheckpoint, dict[str, str]]]:
        seqs = [s for s in sorted(self.cosignatures, reverse=True) if s in self.checkpoints]
        return [(self.checkpoints[s], self.lines(s)) for s in seqs[:limit]]

    def view(self, witness: str, origin: str) -> View | None:
        return self.seen.get((witness, origin))

    def views(self, origin: str) -> list[View]:
        return sorted((v for v in self.seen.values() if v.origin == origin),
                      key=lambda v: v.witness)  # fmt: skip

    def record(self, view: View) -> None:
        self.seen[(view.witness, view.origin)] = view


class FakeWitnessCalls:
    """Witnesses in memory behind ``ports.WitnessCalls``: each judges with the protocol's own
    ``judge`` and cosigns with its own key, keeping its newest cosigned checkpoint per origin;
    ``down`` makes one unreachable."""

    def __init__(self, logs: dict[str, list[Any]]) -> None:
        self.logs = logs
        self.keys: dict[str, CosigningKey] = {}
        self.latest: dict[str, dict[str, Latest]] = {}
        self.down: set[str] = set()
        self.asked: list[tuple[str, int]] = []
        """(url, old size) of every call, in order"""

    def witness(self, name: str) -> tuple[Any, str]:
        """A new witness: its verifier and its url."""
        self.keys[name] = CosigningKey.generate(name, ED25519_COSIGNATURE)
        self.latest[name] = {}
        return self.keys[name].verifier, f"https://{name}/"

    def add_checkpoint(self, url: str, body: bytes) -> tuple[int, str, str]:
        name = url.removeprefix("https://").rstrip("/")
        if name in self.down:
            raise ServiceUnavailable("witness unreachable: ConnectError")
        request = parse_request(body)
        self.asked.append((url, request.old))
        held = self.latest[name]
        try:
            body_ = judge(request, self.logs, held.get(self.origin_of(request)))
        except Refused as refused:
            if refused.answer == 409:
                return 409, SIZE_TYPE, f"{refused.size}\n"
            return refused.answer, "text/plain", str(refused)
        held[body_.origin] = Latest(body_.size, body_.root)
        return 200, "text/plain", self.keys[name].cosign(parse_note(request.checkpoint).text, 1)

    @staticmethod
    def origin_of(request: Request) -> str:
        return request.checkpoint.split("\n", 1)[0]
