"""The console's pull: the inbox into the local store, then the signals of everyone placed.

Write then acknowledge, as every connector does: each delivery is kept, then
acknowledged. A consent recorded after a delivery no longer needs the
delivery held open: the gateway hands the message out once more at the next
pull, cut to what may be delivered now, with a new delivery id and
``supersedes`` naming the earlier deliveries, and the store keeps it in
their place. (Until that was so, the console held such deliveries
unacknowledged for ``--hold-days``; the option is still accepted, and
ignored.)

Each pull of a delivery is a ``delivery.pulled`` audit entry, in the
newcomer's access report too, so a round asks only for what is newer than
the newest cursor seen (``after``; cursors follow commit order, so nothing
is skipped). The whole inbox (what is still unacknowledged) is asked for
only after a consent was recorded here, at start, and once a day (to catch
a delivery whose acknowledgement was lost).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.common import inbox
from connectors.common.client import GatewayClient
from connectors.consoles.i18n import gettext
from connectors.municipality.console import profiles
from connectors.municipality.console.store import Store
from connectors.municipality.messages import placed_newcomers
from gateway.client import wire
from gateway.errors import GatewayError


@dataclass
class Round:
    kept: int = 0
    acknowledged: int = 0
    renewed: int = 0
    """deliveries that came again after a consent, in place of earlier ones"""
    notices: int = 0
    newcomers: int = 0
    profiles: int = 0
    """profiles read outside the inbox: placed newcomers whose profile another consumer took"""
    problems: list[str] = field(default_factory=list)

    def words(self) -> str:
        """The round in the reader's language."""
        if self.problems:
            return gettext("the pull stopped: {problem}").format(problem="; ".join(self.problems))
        return gettext(
            "new or changed: {kept}, acknowledged: {acknowledged}, brought again after a "
            "consent: {renewed}, withdrawal notices: {notices}, newcomers placed: {newcomers}, "
            "profiles read: {profiles}"
        ).format(
            kept=self.kept,
            acknowledged=self.acknowledged,
            renewed=self.renewed,
            notices=self.notices,
            newcomers=self.newcomers,
            profiles=self.profiles,
        )

    def record(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_record(cls, text: str) -> Round:
        try:
            found = json.loads(text)
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in found.items() if k in known})  # older rounds too
        except (ValueError, TypeError, AttributeError):
            return cls(problems=[text])


FULL_PULL_EVERY = timedelta(days=1)


def full_pull_due(store: Store) -> bool:
    """At start (never yet), after a consent recorded since the last full pull began, daily."""
    last = store.state("full_pull_at")
    if not last:
        return True
    began = wire.parse_time(last)
    consent = store.state("consent_at")
    return (bool(consent) and wire.parse_time(consent) >= began) or (
        datetime.now(UTC) - began > FULL_PULL_EVERY
    )


def pull_inbox(
    client: GatewayClient, store: Store, *, full: bool = False, scheduled: bool = False
) -> Round:
    """New deliveries (or, ``full``, every one still unacknowledged) into the store, each
    acknowledged once kept; one that ``supersedes`` earlier ones kept in their place.

    The pager is every puller's (``inbox.pull_once``); the store is the sink, notes each
    acknowledgement, and remembers the newest cursor, so the next round asks for less. A
    version-2 profile is verified against COA's keys pinned in the console's data folder.
    """
    done = Round()
    started = datetime.now(UTC)

    def keep(delivery: dict[str, Any]) -> bool:
        changed = store.keep(delivery)
        done.renewed += changed and bool(delivery.get("supersedes"))
        return changed

    def turned(cursor: int) -> None:
        store.set_state("cursor", str(max(cursor, int(store.state("cursor", "0")))))

    pulled = inbox.pull_once(
        client,
        keep,
        after=0 if full else int(store.state("cursor", "0")),
        acknowledged=store.acknowledged,
        turned=turned,
        scheduled=scheduled,
        pins=profiles.pins_of(store),
    )
    done.kept, done.acknowledged, done.notices = pulled.written, pulled.acknowledged, pulled.notices
    if full:
        store.set_state("full_pull_at", started.isoformat())
    return done


PROGRESS_MAX_AGE = timedelta(days=1)
"""How old a newcomer's progress read may be before the console reads it again (each read
is a ``regie.read``, a line in the newcomer's access report); ``--progress-max-age``"""
PROGRESS_PER_ROUND = 200
"""Progress reads (a ``regie.read`` each) a round makes at most, oldest first, so that a
large municipality's first day spreads them over several rounds"""


def signals_due(store: Store, max_age: timedelta) -> bool:
    """Whether the signals walk is older than ``max_age`` (or never made)."""
    last = store.state("signals_at")
    return not last or datetime.now(UTC) - wire.parse_time(last) >= max_age


def refresh_signals(client: GatewayClient, store: Store, scheduled: bool = False) -> int:
    """The signals of every newcomer placed now (a ``regie.read`` each), kept; ``scheduled``:
    the timer's round, which the gateway's entries then say."""
    query = {"scheduled": "true"} if scheduled else {}
    found = {str(n["v_number"]): n for n in placed_newcomers(client, **query)}
    store.replace_reads("signals", found)
    store.set_state("signals_at", datetime.now(UTC).isoformat())
    return len(found)


def refresh_progress(
    client: GatewayClient,
    store: Store,
    max_age: timedelta = PROGRESS_MAX_AGE,
    scheduled: bool = False,
) -> int:
    """Progress (plan, assignments, hours) of each placed newcomer not read for ``max_age``.

    What the cohort figures need of the plan; a dossier opened reads it only when it is
    older than that too, or when the client manager asks.
    """
    placed = store.reads("signals")
    read = store.reads("progress")
    due = datetime.now(UTC) - max_age
    stale = sorted(
        (read[v][0] if v in read else "", v)
        for v in placed
        if v not in read or wire.parse_time(read[v][0]) < due
    )[:PROGRESS_PER_ROUND]
    query = {"scheduled": "true"} if scheduled else {}
    for _, v_number in stale:
        read = client.get_json(f"/v1/newcomers/{v_number}/progress", **query)
        store.keep_read("progress", v_number, read)
    return len(stale)


def one_round(
    client: GatewayClient,
    store: Store,
    *,
    full: bool = False,
    asked: bool = False,
    max_age: timedelta = PROGRESS_MAX_AGE,
) -> Round:
    """Pull (all of the inbox when ``full`` or due), then the signals; what went wrong is
    said in words and kept with the round.

    The signals walk is a ``regie.read`` of every newcomer placed, so it is made only when
    it can tell something new: when the pull brought something, at a full pull, when a
    person ``asked`` ("pull now"), and when it is older than ``max_age``; not every round.
    A newcomer placed whose profile the inbox never brought here (another consumer of the
    inbox acknowledged it) has it read (``profiles``).
    """
    done = Round()
    try:
        full = full or full_pull_due(store)
        routine = not asked  # the timer's round, not a person's "pull now"
        done = pull_inbox(client, store, full=full, scheduled=routine)
        if done.kept or full or asked or signals_due(store, max_age):
            done.newcomers = refresh_signals(client, store, scheduled=routine)
        else:
            done.newcomers = len(store.reads("signals"))
        done.profiles = profiles.read_missing(client, store, scheduled=routine)
        refresh_progress(client, store, max_age, scheduled=routine)
    except GatewayError as error:
        done.problems.append(f"{error.code}: {error.detail}")
    store.round_done(done.record())
    return done


class Puller:
    """Rounds in a background thread every ``interval`` seconds; ``now()`` for one at once."""

    def __init__(
        self,
        client: GatewayClient,
        store: Store,
        interval: float,
        *,
        progress_max_age: timedelta = PROGRESS_MAX_AGE,
        told: Callable[[Round], None] = lambda _: None,
    ) -> None:
        self.client, self.store, self.interval = client, store, interval
        self.told, self.progress_max_age = told, progress_max_age
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="console-puller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def now(self) -> Round:
        """One round now, in the caller's thread (a user pressed "pull now")."""
        with self._lock:
            return self._round(asked=True)

    def _round(self, *, full: bool = False, asked: bool = False) -> Round:
        return one_round(
            self.client, self.store, full=full, asked=asked, max_age=self.progress_max_age
        )

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            with self._lock:
                self.told(self._round(full=first))
            first = False
            self._wake.wait(self.interval)
            self._wake.clear()
