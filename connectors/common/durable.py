"""Files a connector keeps written whole: all of the new content or all of the old.

A delivery kept in a folder, a DUO export, COA's keys a municipality pinned: each is
written to a temporary file beside its target, fsynced, renamed over it, and the folder
fsynced, so a crash or a kill at any moment leaves one of the two, never half of either.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_durably(target: Path, data: bytes) -> None:
    """Write-then-rename with fsync of file and folder: all of it or nothing, after a crash."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
