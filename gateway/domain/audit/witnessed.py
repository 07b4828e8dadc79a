"""The gateway's view of its witnesses: what each last said it holds of this log, and
whether that holds intake.

A witness answers ``add-checkpoint`` with a cosignature (``consistent``: it
holds this log's newest checkpoint now), or says it holds a larger tree than
this log has (``ahead``: a 409 naming a size beyond ours, the mark of a
database restored from an older backup), or that what we sent is not
consistent with what it cosigned (``forked``: a 422, the mark of a log that
was rewritten, or restored and grown again). Either of the last two holds
intake: what this instance would append is not the log the witnesses vouched
for. A witness that cannot be reached, or refuses for another reason
(``unreachable``, ``refused``), delays cosigning and holds nothing. Must not
import Flask or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CONSISTENT, AHEAD, FORKED, UNREACHABLE, REFUSED = (
    "consistent", "ahead", "forked", "unreachable", "refused",
)  # fmt: skip
HOLDING = (AHEAD, FORKED)


@dataclass(frozen=True)
class View:
    witness: str
    """the witness's key name"""
    origin: str
    size: int | None
    """the size the witness holds, where it said (a cosigned checkpoint's, a 409's)"""
    verdict: str
    detail: str
    """in English, for the operator: what the witness answered (no personal data exists
    in a checkpoint)"""
    checked_at: datetime


def holding(views: list[View]) -> list[View]:
    """The views that hold intake: a witness ahead of this log, or forked from it."""
    return [v for v in views if v.verdict in HOLDING]


def why(views: list[View], size: int) -> str:
    """The reason intake is held, in one sentence for the problem's detail and the log."""
    parts = [
        f"witness {v.witness} holds size {v.size}, this log has {size}" if v.verdict == AHEAD
        else f"witness {v.witness} finds this log not consistent with what it cosigned"
        for v in views
    ]  # fmt: skip
    return (
        "the audit log is behind or forked from what its witnesses cosigned ("
        + "; ".join(parts)
        + "): intake is refused until the missing entries are restored or a new log origin "
        "is started (docs/deploy.md, 'When a witness finds the log rolled back')"
    )
