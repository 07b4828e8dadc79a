"""Rotating the master key: every data key rewrapped under a new one, online, resumable, and
without reading a body (issue #33).

The master key wraps nothing but the per-newcomer data keys (``gateway.domain.vault``),
so a new master key means a new wrapping of each, one small row per newcomer; the sealed
bodies stay as they are. The value of GATEWAY_MASTER_KEY (or the instance's master.key)
may hold several keys: the first wraps, every one unwraps, and each wrapped key names the
master key that wraps it. Four steps, each rolled to every instance before the next, so
that an instance one step behind can always unwrap what the others wrapped:

1. ``add``: the new key joins the set, last: every instance unwraps with it, none wraps.
2. ``activate``: it moves first: new data keys are wrapped by it from now on.
3. ``rewrap``: every data key another key wraps is rewrapped by the first, a page at a
   time, each page committed (``gateway.storage.datakeys``: compare and set, no counter
   lock). Killed, it is run again: the rows done name the new key and are passed over
   without a write. It ends with a pass that finds none left, and enters that in the log.
4. ``retire``: the old key leaves the set, once a pass finds no data key it wraps. It
   can then be destroyed, once no backup from before the rewrap is kept (those hold data
   keys it wraps).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway import config, instance
from gateway.bootstrap import storage_of
from gateway.continuity.rotation import (
    MASTER,
    current,
    operator_services,
    record,
    step,
    write,
)
from gateway.domain import vault
from gateway.errors import ConfigurationError
from gateway.storage.datakeys import DataKeyStore

UNNAMED = "(wrapped before key ids)"


@dataclass(frozen=True)
class MasterStep:
    """What a master key step did: the key ids now (the wrapping one first), where it went."""

    ids: tuple[str, ...]
    key_id: str
    written: Path


@dataclass
class Progress:
    """How far a rewrap is: rows looked at, rewritten now, passed over (done before, or
    erased meanwhile), and left."""

    seen: int = 0
    rewrapped: int = 0
    done_before: int = 0
    left: int | None = None
    """data keys still wrapped by another master key after the closing pass"""


def master_keys(settings: config.Settings) -> tuple[bytes, ...]:
    """The instance's master keys as given now, the wrapping one first."""
    return instance.master_keys(current(settings, MASTER).text)


def _value(keys: tuple[bytes, ...]) -> str:
    """The secret's value: the keys in base64, comma-separated on one line (an environment
    file takes it as it is)."""
    return ",".join(base64.b64encode(key).decode() for key in keys) + "\n"


def _find(keys: tuple[bytes, ...], key_id: str) -> int:
    ids = [vault.master_key_id(key) for key in keys]
    if key_id not in ids:
        raise ConfigurationError(f"no master key {key_id}; the keys: {', '.join(ids)}")
    return ids.index(key_id)


def add_master_key(settings: config.Settings, now: datetime, out: Path | None) -> MasterStep:
    """A new master key, last in the set: it unwraps, it does not wrap yet. Raises
    ConfigurationError while another rotation is under way."""
    keys = master_keys(settings)
    if len(keys) > 1:
        raise ConfigurationError("a master key rotation is under way: finish it (rewrap, then "
                                 "retire the old key) before adding another")  # fmt: skip
    new = secrets.token_bytes(vault.KEY_BYTES)
    return _master_step(settings, (*keys, new), vault.master_key_id(new), "added", now, out)


def activate_master_key(
    settings: config.Settings, key_id: str, now: datetime, out: Path | None
) -> MasterStep:
    """``key_id`` moves first: it wraps every new data key from now on."""
    keys = master_keys(settings)
    chosen = keys[_find(keys, key_id)]
    ordered = (chosen, *(key for key in keys if key != chosen))
    return _master_step(settings, ordered, key_id, "activated", now, out)


def retire_master_key(
    settings: config.Settings, key_id: str, now: datetime, out: Path | None
) -> MasterStep:
    """``key_id`` leaves the set. Raises ConfigurationError for the wrapping key, or while
    a pass over the data keys finds one that no other key of the set wraps."""
    keys = master_keys(settings)
    at = _find(keys, key_id)
    if at == 0:
        raise ConfigurationError(f"master key {key_id} wraps new data keys: activate another "
                                 "and rewrap first")  # fmt: skip
    kept = tuple(key for i, key in enumerate(keys) if i != at)
    ids = {vault.master_key_id(key) for key in kept}
    counts = count_by_key(settings)
    needing = sum(n for named, n in counts.items() if named not in ids)
    if needing:
        raise ConfigurationError(f"{needing} data key(s) still need master key {key_id}: "
                                 "run `gateway secrets rewrap-master-key` first")  # fmt: skip
    return _master_step(settings, kept, key_id, "retired", now, out)


def _master_step(
    settings: config.Settings, keys: tuple[bytes, ...], key_id: str, what: str, now: datetime,
    out: Path | None,
) -> MasterStep:  # fmt: skip
    with (
        operator_services(settings) as services,
        step(services, "master_key.changed", f"{what}:{key_id}", now),
    ):
        written = write(current(settings, MASTER), _value(keys), out)
    return MasterStep(tuple(vault.master_key_id(key) for key in keys), key_id, written)


def count_by_key(settings: config.Settings) -> Counter[str]:
    """How many data keys each master key wraps (by id; ``UNNAMED`` for those wrapped
    before wrapped keys named theirs), from one pass over the wrapped keys."""
    with operator_services(settings) as services:
        store = DataKeyStore(storage_of(services).engine)
        return Counter(vault.wrapped_by(wrapped) or UNNAMED for wrapped in store.all())


def rewrap(
    settings: config.Settings, *, batch: int = 500, pause: float = 0.0,
    report: Callable[[Progress], None] = lambda _: None,
) -> Progress:  # fmt: skip
    """Rewrap every data key that the first master key does not wrap, ``batch`` rows per
    committed transaction, ``pause`` seconds between pages that wrote (to spare a busy
    database); ``report`` hears after each page. Ends with a pass that counts the rows
    still wrapped by another key (an instance still wrapping with the old key: roll the
    activation to every instance, then run again); when none, the log records it.
    Raises ConfigurationError when a data key opens with none of the keys."""
    keys = vault.Vault(master_keys(settings))
    with operator_services(settings) as services:
        store = DataKeyStore(storage_of(services).engine)
        progress, after = Progress(), ""
        while rows := store.page(after, batch):
            todo = [(s, w, keys.rewrap(w, s)) for s, w in rows if not keys.is_current(w)]
            written = store.replace(todo) if todo else 0
            progress.seen += len(rows)
            progress.rewrapped += written
            progress.done_before += len(rows) - written
            after = rows[-1][0]
            report(progress)
            if todo and pause:
                time.sleep(pause)
        progress.left = sum(1 for wrapped in store.all() if not keys.is_current(wrapped))
        if progress.left == 0:
            reason = f"rewrapped:{keys.ids[0]}"
            record(services, "master_key.changed", reason, datetime.now(UTC))
    return progress
