"""What an auditor looks for, computed from the entries alone (and the checkpoints).

Each rule is stated in words on its page (``RULES``) and is a plain
function over the entries as the log holds them, oldest first; nothing
here asks the gateway anything, so a finding can be recomputed by anyone
from the same log.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from connectors.consoles.i18n import N_

ZONE = ZoneInfo("Europe/Amsterdam")
READS = frozenset({"delivery.pulled", "regie.read", "audit.read"})
SPIKE_AT_LEAST = 10
SPIKE_TIMES = 3.0
READS_AT_LEAST = 20
READS_TIMES = 3.0

RULES = {
    "after-withdrawal": N_(
        "A category delivered on the basis of a consent after that consent was withdrawn "
        "(a pull whose basis names a consent declaration, later than the entry that withdrew "
        "that declaration)."
    ),
    "refusal-spike": N_(
        "A sender with many refusals in one hour, against its usual number (the median of "
        "its other hours with refusals, 0 if none)."
    ),
    "many-reads": N_(
        "A party that read unusually many newcomers in one day (Dutch time), against its "
        "usual day (the median of its earlier days with reads); a day with no earlier days "
        "to compare with is not judged."
    ),
    "checkpoint-gap": N_(
        "Two checkpoints further apart than twice the promised interval, while the log grew "
        "between them."
    ),
    "office-hours": N_(
        "A read of a newcomer's data (pull, progress, log) outside the office hours this "
        "deployment set, in Dutch time. A tool's scheduled pull is routine and left out: "
        "every entry of a request (one trace) in which the tool marked a read as scheduled; "
        "how many were left out is said below, by party and day."
    ),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    when: str
    """the entry's time, or the hour or day the finding is about"""
    actor: str | None
    message: str
    """the finding in the log's own terms (a message id, ``N_``): a fact, not a judgement"""
    values: tuple[tuple[str, str], ...] = ()
    indexes: tuple[int, ...] = ()

    @property
    def detail(self) -> str:
        """In English (the message id filled in); pages translate ``message``."""
        return self.message.format(**dict(self.values))


def _v(**values: object) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in values.items())


def _time(entry: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))


def local_day(when: str) -> str:
    """The Dutch day (``yyyy-mm-dd``) of a time in the log, or the day itself if it is one:
    a day that starts at 23:00 UTC in winter is still the day an auditor means."""
    if "T" not in when:
        return when[:10]
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return moment.astimezone(ZONE).date().isoformat()


def after_withdrawal(entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    withdrawn: dict[str, tuple[datetime, int]] = {}
    found = []
    for entry in entries:
        if entry["event"] == "consent.withdrawn":
            declaration = str(entry.get("reason") or "").partition(":")[2]
            withdrawn.setdefault(declaration, (_time(entry), int(entry["index"])))
        elif entry["event"] == "delivery.pulled":
            for category, basis in (entry.get("basis") or {}).items():
                kind, _, declaration = str(basis).partition(":")
                if kind == "consent" and declaration in withdrawn:
                    at, index = withdrawn[declaration]
                    if _time(entry) > at:
                        found.append(
                            Finding(
                                "after-withdrawal",
                                str(entry["time"]),
                                entry.get("actor"),
                                N_(
                                    "{category} on declaration {declaration}, withdrawn in "
                                    "entry {index}"
                                ),
                                _v(category=category, declaration=declaration, index=index),
                                (index, int(entry["index"])),
                            )
                        )
    return found


def refusal_spikes(entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    per_hour: dict[str | None, Counter[str]] = defaultdict(Counter)
    for entry in entries:
        if entry["event"] == "message.refused":
            per_hour[entry.get("actor")][str(entry["time"])[:13]] += 1
    found = []
    for actor, hours in per_hour.items():
        for hour, count in sorted(hours.items()):
            others = [n for h, n in hours.items() if h != hour]
            usual = statistics.median(others) if others else 0
            if count >= SPIKE_AT_LEAST and count >= SPIKE_TIMES * usual:
                found.append(
                    Finding(
                        "refusal-spike",
                        f"{hour}:00Z",
                        actor,
                        N_("{count} refusals in the hour; usually {usual}"),
                        _v(count=count, usual=f"{usual:g}"),
                    )
                )
    return found


def many_reads(entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    days: dict[str | None, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for entry in entries:
        if entry["event"] in READS and entry.get("subject"):
            days[entry.get("actor")][local_day(str(entry["time"]))].add(str(entry["subject"]))
    found = []
    for actor, read in days.items():
        seen: list[int] = []
        for day in sorted(read):
            count = len(read[day])
            if seen:
                usual = statistics.median(seen)
                if count >= READS_AT_LEAST and count >= READS_TIMES * usual:
                    found.append(
                        Finding(
                            "many-reads",
                            day,
                            actor,
                            N_("{count} newcomers read; usually {usual}"),
                            _v(count=count, usual=f"{usual:g}"),
                        )
                    )
            seen.append(count)
    return found


def checkpoint_gaps(points: Iterable[tuple[int, int, str, str]], interval: float) -> list[Finding]:
    """``points``: (seq, tree_size, root_hash, timestamp), oldest first."""
    found = []
    ordered = list(points)
    for (seq_a, size_a, _, at_a), (seq_b, size_b, _, at_b) in itertools.pairwise(ordered):
        gap = (
            datetime.fromisoformat(at_b.replace("Z", "+00:00"))
            - datetime.fromisoformat(at_a.replace("Z", "+00:00"))
        ).total_seconds()
        if size_b > size_a and gap > 2 * interval:
            found.append(
                Finding(
                    "checkpoint-gap",
                    at_b,
                    None,
                    N_(
                        "checkpoints {a} and {b}: {gap} s apart, the log grew from {first} "
                        "to {second}"
                    ),
                    _v(a=seq_a, b=seq_b, gap=f"{gap:.0f}", first=size_a, second=size_b),
                )
            )
    return found


@dataclass(frozen=True)
class OfficeHours:
    start: time
    end: time
    days: frozenset[int] = frozenset(range(5))
    """weekdays (Monday 0) that have office hours"""

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """``08:00-18:00`` (Monday to Friday, Dutch time)."""
        first, _, last = text.partition("-")
        try:
            return cls(time.fromisoformat(first.strip()), time.fromisoformat(last.strip()))
        except ValueError:
            raise ValueError("office hours as HH:MM-HH:MM, e.g. 08:00-18:00") from None

    def within(self, moment: datetime) -> bool:
        local = moment.astimezone(ZONE)
        return local.weekday() in self.days and self.start <= local.time() < self.end


ROUTINE = {
    "delivery.pulled": frozenset(("scheduled", "profile-read:scheduled")),
    "regie.read": frozenset(("signals:scheduled", "progress:scheduled")),
}
"""The reasons a tool gives the reads of its scheduled run, by event: the console's own
automatic pull, profile reads, signals walk and progress reads, not a person looking"""


def routine_traces(entries: Iterable[Mapping[str, Any]]) -> frozenset[tuple[str | None, str]]:
    """(party, trace) of every request in which a read was marked scheduled.

    Every entry of one request shares its trace, and not every entry of a
    scheduled pull carries the mark (a withdrawal notice pulled with it does
    not), so the whole request is routine. The party is part of the key: a
    trace id can be chosen by the caller, and one party naming another's
    trace must not make its own reads routine.
    """
    return frozenset(
        (e.get("actor"), str(e["trace_id"]))
        for e in entries
        if e.get("trace_id") and e.get("reason") in ROUTINE.get(e["event"], ())
    )


def is_routine(entry: Mapping[str, Any], traces: frozenset[tuple[str | None, str]]) -> bool:
    if entry.get("reason") in ROUTINE.get(entry["event"], ()):
        return True
    return (entry.get("actor"), str(entry.get("trace_id"))) in traces


def reads_out_of_hours(
    entries: Sequence[Mapping[str, Any]], hours: OfficeHours | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The reads of a newcomer's data outside office hours: (a person's, routine)."""
    if hours is None:
        return [], []
    traces = routine_traces(entries)
    looked: list[Mapping[str, Any]] = []
    routine: list[Mapping[str, Any]] = []
    for e in entries:
        if e["event"] in READS and e.get("subject") and not hours.within(_time(e)):
            (routine if is_routine(e, traces) else looked).append(e)
    return looked, routine


def outside_office_hours(
    entries: Sequence[Mapping[str, Any]], hours: OfficeHours | None
) -> list[Finding]:
    """Routine reads left out (``routine_left_out`` counts them): 148 lines of the console's
    own Sunday pull buried the one read at night that an auditor is there for."""
    return [
        Finding(
            "office-hours",
            str(e["time"]),
            e.get("actor"),
            N_("{event} at {local}"),
            _v(event=e["event"], local=f"{_time(e).astimezone(ZONE):%Y-%m-%d %H:%M}"),
            (int(e["index"]),),
        )
        for e in reads_out_of_hours(entries, hours)[0]
    ]


def routine_left_out(
    entries: Sequence[Mapping[str, Any]], hours: OfficeHours | None
) -> list[tuple[str | None, str, int]]:
    """(party, Dutch day, how many) of the routine reads outside office hours, newest day
    first: left out of the findings, but said, so that a "scheduled" pull at a strange hour
    or by a party that runs none can still be questioned."""
    counted = Counter(
        (e.get("actor"), local_day(str(e["time"]))) for e in reads_out_of_hours(entries, hours)[1]
    )
    newest = sorted(counted.items(), key=lambda i: (i[0][1], i[1], i[0][0] or ""), reverse=True)
    return [(actor, day, n) for (actor, day), n in newest]


def thresholds(
    interval: float, hours: OfficeHours | None
) -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """Each rule's threshold as a message id and its values, from the numbers the rules use,
    so what the page says is what was computed."""
    office = (
        (N_("outside {start} to {end}, Monday to Friday, Dutch time"),
         _v(start=f"{hours.start:%H:%M}", end=f"{hours.end:%H:%M}"))
        if hours is not None
        else (N_("not set"), ())
    )  # fmt: skip
    return {
        "after-withdrawal": (N_("none: every such delivery is a finding"), ()),
        "refusal-spike": (
            N_("at least {count} refusals in one hour, and at least {times} times the usual"),
            _v(count=SPIKE_AT_LEAST, times=f"{SPIKE_TIMES:g}"),
        ),
        "many-reads": (
            N_("at least {count} newcomers in one day, and at least {times} times the usual"),
            _v(count=READS_AT_LEAST, times=f"{READS_TIMES:g}"),
        ),
        "checkpoint-gap": (
            N_("more than {gap} s apart: twice the promised interval of {interval} s"),
            _v(gap=f"{2 * interval:g}", interval=f"{interval:g}"),
        ),
        "office-hours": office,
    }


def all_findings(
    entries: Sequence[Mapping[str, Any]],
    points: Iterable[tuple[int, int, str, str]],
    *,
    interval: float = 60.0,
    hours: OfficeHours | None = None,
) -> dict[str, list[Finding]]:
    return {
        "after-withdrawal": after_withdrawal(entries),
        "refusal-spike": refusal_spikes(entries),
        "many-reads": many_reads(entries),
        "checkpoint-gap": checkpoint_gaps(points, interval),
        "office-hours": outside_office_hours(entries, hours),
    }
