"""What storage hands back: plain values that the service and storage layers share.

Storage builds them from rows; services read them. They carry pseudonyms,
never V-nummers. Pure: no SQL, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gateway.domain.consent import Declaration, Withdrawal
from gateway.domain.duo import Facts as DuoFacts

if TYPE_CHECKING:
    from gateway.domain.assignments import Assignment

Fact = TypeVar("Fact", Declaration, Withdrawal)


@dataclass(frozen=True, slots=True)
class AuditRef:
    """An entry's place in the log: what a receipt names."""

    index: int
    leaf_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An accepted message as idempotency needs it: its digest and its receipt."""

    message_id: str
    digest: str
    receipt: str


@dataclass(frozen=True, slots=True)
class Pending:
    """A delivery waiting in an inbox."""

    delivery_id: str
    cursor: int
    message_id: str
    subject: str
    received_at: datetime
    supersedes: tuple[str, ...] = ()
    """the earlier deliveries of the same message this one hands out again"""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A delivery just acknowledged; ``first`` unless it was acknowledged before."""

    delivery: Pending
    first: bool


@dataclass(frozen=True, slots=True)
class Recorded(Generic[Fact]):
    """A consent fact as recorded: which message recorded it, by whom, when."""

    fact: Fact
    message_id: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    """A newcomer's consent facts at one municipality, oldest first."""

    declarations: list[Recorded[Declaration]]
    withdrawals: list[Recorded[Withdrawal]]

    @property
    def facts(self) -> tuple[list[Declaration], list[Withdrawal]]:
        """The bare facts, as consent.evaluate takes them."""
        return [r.fact for r in self.declarations], [r.fact for r in self.withdrawals]


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    seq: int
    tree_size: int
    root_hash: str
    created_at: datetime
    jws: str
    note: str


@dataclass(frozen=True, slots=True)
class Carried:
    """A category a delivery carried when pulled, on the basis of one declaration."""

    delivery_id: str
    subject: str
    recipient: str
    declaration_id: str
    category: str


@dataclass(frozen=True, slots=True)
class Notice:
    """What a withdrawal notice tells its recipient (the contract's members)."""

    declaration_id: str
    withdrawn_at: datetime
    categories: tuple[str, ...]
    affected_deliveries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """One newcomer's regie facts as stored, bodies unsealed; the service cuts and judges them."""

    placement: int
    """the audit index of the profile that placed the newcomer: the signals list's cursor"""
    subject: str
    v_number: str
    bsn: str | None
    placed_with: str
    placed_at: datetime
    """when the gateway accepted the placing profile"""
    placed_by: str
    """the message that placed the newcomer: COA's profile, or DUO's SS120/SS121"""
    linked_on: date | None
    """the day COA linked the newcomer to the municipality, when its profile said"""
    plan: dict[str, Any] | None
    """the newest plan version's body: whole for one newcomer's progress, in a list only
    what regie reads of it"""
    first_plan_dated: date | None
    """the dated of this municipality's first plan for the newcomer"""
    term_started: date | None
    """the dated of the newcomer's first plan by any municipality: the term runs from it
    and goes on when the newcomer moves (the inburgeringstermijn of the Wet inburgering 2021)"""
    assignments: list[Assignment]
    last_report: tuple[str, datetime, str] | None
    """message id, received at, sender"""
    report: dict[str, Any] | None
    """the newest report's payload (version and body) or what regie reads of it, uncut"""
    hours: dict[str, tuple[int, str]]
    """kind → (total over the providers' newest, the newest report that gave one)"""
    duo: DuoFacts = field(default_factory=DuoFacts)
    """what DUO notified this municipality of about the newcomer"""


@dataclass(frozen=True, slots=True)
class HandedOut:
    """A message its recipient was given and acknowledged, for consent given later."""

    message_id: str
    delivery_ids: tuple[str, ...]
    """every delivery of it to that recipient, oldest first (all acknowledged)"""
    raw: bytes
    """the message as received (the JWS), unsealed"""


@dataclass(frozen=True, slots=True)
class Placing:
    """The newest handover profile that placed a newcomer, for the profile read."""

    municipality: str
    message_id: str
    received_at: datetime
    raw: bytes | None
    """the message as received, unsealed; None when the newcomer's data was erased"""


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """The logbook's work: entries [start, end) of the log, and (index, stored bytes) of
    those that name a newcomer, which get a record."""

    start: int
    end: int
    entries: list[tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class LogbookLag:
    """When the oldest entry the logbook lacks was written (None: it lacks none), and why
    the exporter last failed (None: its last write succeeded)."""

    since: datetime | None
    failing: str | None
