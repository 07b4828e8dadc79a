"""The witnesses' rows: cosignatures kept beside their checkpoints, each witness's last
verdict on this log, and the lease that lets one process at a time ask them.

None of these writes touches the log, so none takes the audit counter: asking
witnesses never waits on intake, nor intake on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select

from gateway.domain.audit.witnessed import View
from gateway.domain.records import StoredCheckpoint
from gateway.storage import engine, leases, tables

_C, _V = tables.witness_cosignatures, tables.witness_views


class WitnessStore:
    def __init__(self, db: Engine) -> None:
        self.engine = db

    def take_lease(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        return leases.take(self.engine, name, holder, now, length)

    def give_back(self, name: str, holder: str) -> None:
        leases.give_back(self.engine, name, holder)

    def keep(self, seq: int, lines: list[tuple[str, str, datetime]]) -> None:
        """Cosignature lines (witness, line, when) of checkpoint ``seq``; one per witness."""
        with engine.write(self.engine, lock=False, background=True) as conn:
            for witness, line, at in lines:
                conn.execute(delete(_C).where(_C.c.checkpoint_seq == seq, _C.c.witness == witness))
                conn.execute(insert(_C).values(checkpoint_seq=seq, witness=witness, line=line,
                                               cosigned_at=at))  # fmt: skip

    def lines(self, seq: int) -> dict[str, str]:
        """Witness → its cosignature line of checkpoint ``seq``."""
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(_C.c.witness, _C.c.line).where(_C.c.checkpoint_seq == seq))
            return {w: line for w, line in rows}

    def cosigned(self, limit: int) -> list[tuple[StoredCheckpoint, dict[str, str]]]:
        """The newest ``limit`` checkpoints with a cosignature, newest first, with their
        witnesses' lines (witness → line)."""
        c = tables.checkpoints
        with engine.read(self.engine) as conn:
            seqs = conn.execute(
                select(_C.c.checkpoint_seq).distinct()
                .order_by(_C.c.checkpoint_seq.desc()).limit(limit)
            ).scalars().all()  # fmt: skip
            if not seqs:
                return []
            points = conn.execute(select(c).where(c.c.seq.in_(seqs))).all()
            rows = conn.execute(
                select(_C.c.checkpoint_seq, _C.c.witness, _C.c.line)
                .where(_C.c.checkpoint_seq.in_(seqs))
            ).all()  # fmt: skip
        lines: dict[int, dict[str, str]] = {}
        for seq, witness, line in rows:
            lines.setdefault(seq, {})[witness] = line
        found = [(StoredCheckpoint(r.seq, r.tree_size, r.root_hash, r.created_at, r.jws, r.note),
                  lines.get(r.seq, {})) for r in points]  # fmt: skip
        return sorted(found, key=lambda pair: pair[0].seq, reverse=True)

    def view(self, witness: str, origin: str) -> View | None:
        with engine.read(self.engine) as conn:
            row = conn.execute(
                select(_V).where(_V.c.witness == witness, _V.c.origin == origin)
            ).first()
        return _view(row) if row else None

    def views(self, origin: str) -> list[View]:
        with engine.read(self.engine) as conn:
            rows = conn.execute(select(_V).where(_V.c.origin == origin).order_by(_V.c.witness))
            return [_view(r) for r in rows]

    def record(self, view: View) -> None:
        """What a witness said just now, in place of what it said before."""
        with engine.write(self.engine, lock=False, background=True) as conn:
            key = and_(_V.c.witness == view.witness, _V.c.origin == view.origin)
            conn.execute(delete(_V).where(key))
            conn.execute(insert(_V).values(
                witness=view.witness, origin=view.origin, size=view.size,
                verdict=view.verdict, detail=view.detail, checked_at=view.checked_at,
            ))  # fmt: skip


def _view(row: Any) -> View:
    return View(row.witness, row.origin, row.size, row.verdict, row.detail, row.checked_at)
