"""Asking the witnesses to cosign each new checkpoint (C2SP tlog-witness), and holding intake
when one of them shows the log was rolled back.

After a checkpoint is signed, one process at a time (a lease in the
database: on PostgreSQL across all instances, on SQLite across the workers
of the one writer) sends the newest checkpoint to every configured witness
with a consistency proof from the size that witness last cosigned. A ``409``
names the witness's size: below ours, the proof is made from there and sent
again; above ours, the witness holds more of the log than this database has,
which is what a restore from an older backup looks like. A ``422`` says our
checkpoint is not consistent with what the witness cosigned: a fork. Either
holds intake (``held``) until the missing entries are back or a new log
origin is started. A witness that cannot be reached is retried at the next
round: it delays cosigning, never intake. The witnesses' cosignature lines
are kept beside their checkpoint and served with it.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway import logs
from gateway.domain.audit import notes, witnessed, witnessing
from gateway.domain.audit.witnessed import View
from gateway.domain.records import StoredCheckpoint
from gateway.errors import CheckpointError, GatewayError, ServiceUnavailable
from gateway.service.ports import AuditPort, WitnessCalls, WitnessPort

log = logs.get("gateway.cosigning")
LEASE = "cosigning"
LEASE_LENGTH = timedelta(seconds=90)
"""longer than a round can take (every witness's timeout), so two never overlap"""
_MAX_TRIES = 3


@dataclass(frozen=True)
class Witness:
    verifier: notes.Verifier
    url: str

    @property
    def name(self) -> str:
        return self.verifier.name


def _printable(text: str) -> str:
    """A witness's words, cut to a line of printable text (they are logged and stored)."""
    return re.sub(r"[^\x20-\x7e]", " ", text)[:200].strip()


class Cosigning:
    def __init__(self, log_port: AuditPort, store: WitnessPort, origin: str,
                 witnesses: list[Witness], calls: WitnessCalls) -> None:  # fmt: skip
        self.log = log_port
        self.store = store
        self.origin = origin
        self.witnesses = witnesses
        self.calls = calls
        self.holder = f"{socket.gethostname()}:{os.getpid()}"[:64]

    def round(self, now: datetime) -> list[View]:
        """Ask every witness to cosign the newest checkpoint, if this process gets the lease;
        what each said (empty: no witnesses, no checkpoint, or another process asks)."""
        if not self.witnesses or not self.store.take_lease(LEASE, self.holder, now, LEASE_LENGTH):
            return []
        try:
            newest = self.log.latest()
            if newest is None:
                return []
            cosigned = self.store.lines(newest.seq)
            return [self._ask(w, newest, now) for w in self.witnesses if w.name not in cosigned]
        finally:
            self.store.give_back(LEASE, self.holder)

    def held(self) -> str | None:
        """Why intake is held (a witness ahead of this log or forked from it), or None."""
        holding = witnessed.holding(self.store.views(self.origin))
        return witnessed.why(holding, self.log.size()) if holding else None

    def _ask(self, witness: Witness, point: StoredCheckpoint, now: datetime) -> View:
        known = self.store.view(witness.name, self.origin)
        old = known.size if known and known.verdict == witnessed.CONSISTENT else 0
        old = old if old is not None and old <= point.tree_size else 0
        for _ in range(_MAX_TRIES):
            try:
                status, kind, text = self.calls.add_checkpoint(witness.url, self._body(old, point))
            except ServiceUnavailable as error:
                return self._said(witness, now, witnessed.UNREACHABLE, None, error.detail)
            if status == 200:
                return self._cosigned(witness, point, text, now)
            theirs = _size(kind, text) if status == 409 else None
            if theirs is None or theirs == old:
                break
            if theirs > point.tree_size:
                said = f"holds size {theirs}; this log has {point.tree_size}"
                return self._said(witness, now, witnessed.AHEAD, theirs, said)
            old = theirs
        if status == 422:
            return self._said(witness, now, witnessed.FORKED, old,
                              f"not consistent with size {old}: {_printable(text)}")  # fmt: skip
        return self._said(witness, now, witnessed.REFUSED, None,
                          f"answered {status}: {_printable(text)}")  # fmt: skip

    def _body(self, old: int, point: StoredCheckpoint) -> bytes:
        proof = self.log.consistency(old, point.tree_size) if 0 < old < point.tree_size else []
        return witnessing.format_request(witnessing.Request(old, tuple(proof), point.note))

    def _cosigned(self, witness: Witness, point: StoredCheckpoint, text: str,
                  now: datetime) -> View:  # fmt: skip
        try:
            lines = witnessing.cosignatures(text, notes.parse_note(point.note), witness.verifier)
        except CheckpointError as error:
            said = f"answered 200 without its valid cosignature: {error.detail}"
            return self._said(witness, now, witnessed.REFUSED, None, said)
        name, blob = lines[0]  # one line per witness is kept: its first verified one
        kept = [(witness.name, notes.signature_line(name, blob), notes.cosigned_at(blob))]
        self.store.keep(point.seq, kept)
        log.info("checkpoint_cosigned", witness=witness.name, tree_size=point.tree_size)
        return self._said(witness, now, witnessed.CONSISTENT, point.tree_size, "cosigned")

    def _said(self, witness: Witness, now: datetime, verdict: str, size: int | None,
              detail: str) -> View:  # fmt: skip
        view = View(witness.name, self.origin, size, verdict, detail, now)
        try:
            self.store.record(view)
        except GatewayError as error:
            log.warning("witness_view_not_kept", error_type=logs.error_kind(error))
        if verdict in witnessed.HOLDING:
            log.error("log_held", witness=witness.name, verdict=verdict, size=size)
        elif verdict != witnessed.CONSISTENT:
            log.warning("witness_not_cosigning", witness=witness.name, verdict=verdict)
        return view


def _size(kind: str, text: str) -> int | None:
    """The witness's size from a 409 (``text/x.tlog.size``: a decimal and a newline)."""
    if kind.split(";")[0].strip() != witnessing.SIZE_TYPE:
        return None
    found = re.fullmatch(r"(0|[1-9][0-9]{0,18})\n?", text)
    return int(found.group(1)) if found else None

