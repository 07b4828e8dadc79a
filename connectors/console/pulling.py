"""The console's pull: the inbox into the local store, then the signals of everyone placed.

Write then acknowledge, as every connector does. One thing differs from
``gateway connect municipality pull``: a delivery that arrives with a
category withheld for want of consent is kept but **not acknowledged yet**
(for ``hold_days`` after the gateway received it). Consent is judged at each
pull, so a declaration the client manager records afterwards lets a later
pull bring the category in; acknowledging at once would have closed the
delivery for good (the contract hands out again only what is unacknowledged).

Each pull of a delivery is a ``delivery.pulled`` audit entry, in the
newcomer's access report too, so the deliveries held open are not pulled
every round: a round asks only for what is newer than the newest cursor
seen (``after``; cursors follow commit order, so nothing is skipped). The
whole inbox, held deliveries included, is pulled again only when it can
bring something: after a consent was recorded here, at start, and once a
day (to catch a delivery whose acknowledgement was lost).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.client import GatewayClient, TransportError
from connectors.console.i18n import gettext
from connectors.console.labels import catalog
from connectors.console.store import Store
from connectors.municipality import NOTICE, placed_newcomers, verified
from gateway.domain import message
from gateway.errors import GatewayError

HOLD_DAYS = 28
"""How long a delivery with a category awaiting consent stays open to be pulled again"""


@dataclass
class Round:
    kept: int = 0
    acknowledged: int = 0
    held_open: int = 0
    notices: int = 0
    newcomers: int = 0
    problems: list[str] = field(default_factory=list)

    def words(self) -> str:
        """The round in the reader's language."""
        if self.problems:
            return gettext("the pull stopped: {problem}").format(problem="; ".join(self.problems))
        return gettext(
            "new or changed: {kept}, acknowledged: {acknowledged}, kept open for consent: "
            "{held}, withdrawal notices: {notices}, newcomers placed: {newcomers}"
        ).format(
            kept=self.kept,
            acknowledged=self.acknowledged,
            held=self.held_open,
            notices=self.notices,
            newcomers=self.newcomers,
        )

    def record(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_record(cls, text: str) -> Round:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return cls(problems=[text])


def _awaits_consent(type_: str, withheld: list[str]) -> bool:
    """Whether a withheld category could still come with consent (not law-only)."""
    rules = catalog().policy.get(type_, {})
    return any(rules.get(c) in ("consent", "explicit-consent") for c in withheld)


FULL_PULL_EVERY = timedelta(days=1)


def full_pull_due(store: Store) -> bool:
    """At start (never yet), after a consent recorded since the last full pull began, daily."""
    last = store.state("full_pull_at")
    if not last:
        return True
    began = message.parse_time(last)
    consent = store.state("consent_at")
    return (bool(consent) and message.parse_time(consent) >= began) or (
        datetime.now(UTC) - began > FULL_PULL_EVERY
    )


def pull_inbox(
    client: GatewayClient, store: Store, *, hold_days: int = HOLD_DAYS, full: bool = False
) -> Round:
    """New deliveries (or, ``full``, every one in the inbox) into the store; each
    acknowledged unless held open for consent."""
    done = Round()
    horizon = datetime.now(UTC) - timedelta(days=hold_days)
    started = datetime.now(UTC)
    after = 0 if full else int(store.state("cursor", "0"))
    while True:
        page = client.get_json("/v1/inbox", after=after, limit=100)
        deliveries = page.get("deliveries")
        if not isinstance(deliveries, list):
            raise TransportError("inbox response without deliveries")
        for delivery in deliveries:
            done.kept += store.keep(verified(client, delivery))
            withheld = list(delivery.get("withheld_categories", []))
            received = message.parse_time(str(delivery.get("received_at")))
            if (
                delivery.get("type") != NOTICE
                and _awaits_consent(str(delivery.get("type")), withheld)
                and received > horizon
            ):
                done.held_open += 1
                continue
            client.ack(str(delivery["delivery_id"]))
            store.acknowledged(str(delivery["delivery_id"]))
            done.acknowledged += 1
            done.notices += delivery.get("type") == NOTICE
        if not deliveries:
            break
        after = page["next_cursor"]
        store.set_state("cursor", str(max(after, int(store.state("cursor", "0")))))
    if full:
        store.set_state("full_pull_at", started.isoformat())
    return done


PROGRESS_EVERY = timedelta(days=1)
PROGRESS_PER_ROUND = 200
"""Progress reads (a ``regie.read`` each) a round makes at most, oldest first, so that a
large municipality's first day spreads them over several rounds"""


def refresh_signals(client: GatewayClient, store: Store) -> int:
    """The signals of every newcomer placed now (a ``regie.read`` each), kept."""
    found = {str(n["v_number"]): n for n in placed_newcomers(client)}
    store.replace_reads("signals", found)
    return len(found)


def refresh_progress(client: GatewayClient, store: Store) -> int:
    """Progress (plan, assignments, hours) of each placed newcomer not read for a day.

    What the cohort figures need of the plan; a dossier opened reads it anew anyway.
    """
    placed = store.reads("signals")
    read = store.reads("progress")
    due = datetime.now(UTC) - PROGRESS_EVERY
    stale = sorted(
        (read[v][0] if v in read else "", v)
        for v in placed
        if v not in read or message.parse_time(read[v][0]) < due
    )[:PROGRESS_PER_ROUND]
    for _, v_number in stale:
        store.keep_read("progress", v_number, client.get_json(f"/v1/newcomers/{v_number}/progress"))
    return len(stale)


def one_round(
    client: GatewayClient, store: Store, *, hold_days: int = HOLD_DAYS, full: bool = False
) -> Round:
    """Pull (all of the inbox when ``full`` or due), then the signals; what went wrong is
    said in words and kept with the round."""
    done = Round()
    try:
        full = full or full_pull_due(store)
        done = pull_inbox(client, store, hold_days=hold_days, full=full)
        done.newcomers = refresh_signals(client, store)
        refresh_progress(client, store)
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
        hold_days: int = HOLD_DAYS,
        told: Callable[[Round], None] = lambda _: None,
    ) -> None:
        self.client, self.store, self.interval = client, store, interval
        self.hold_days, self.told = hold_days, told
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
            return one_round(self.client, self.store, hold_days=self.hold_days)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            with self._lock:
                self.told(one_round(self.client, self.store, hold_days=self.hold_days, full=first))
            first = False
            self._wake.wait(self.interval)
            self._wake.clear()
