"""The policy officer's cohort figures, over what this console pulled, every cell protected.

Each table is made of partitions (see ``suppression``): every row of a
table adds up to a total the page states, and no sum links the cells of
two rows (newcomers per route and per provider each add up to all of the
cohort, never to each other). Signals per provider is a table of columns:
each signal's newcomers split by provider.

The facts come from ``facts.Newcomer``: the profile's placement time, the
newest plan known, the assignments in force, the reports pulled and the
signals read, as far as consent let them reach this console.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.consoles.i18n import N_
from connectors.municipality.console.facts import Newcomer
from connectors.municipality.console.suppression import THRESHOLD, Partition, protect

ROUTES = ("b1-route", "onderwijsroute", "z-route")
NO_ROUTE = "none"
NO_PROVIDER = "none"
SKILLS = ("listening", "reading", "speaking", "writing")
LEVELS = ("A0", "A1", "A2", "B1", "B2+", "not-assessed")
SIGNALS = ("no-plan", "no-progress", "low-attendance", "behind-plan", "term-ending", "dropout-risk")

WEEKS = (
    ("within-4-weeks", N_("within 4 weeks")),
    ("4-8-weeks", N_("4 to 8 weeks")),
    ("8-10-weeks", N_("8 to 10 weeks")),
    ("over-10-weeks", N_("more than 10 weeks")),
    ("not-yet", N_("not yet")),
)
ATTENDANCE = (
    ("under-60", N_("under 60 %")),
    ("60-80", N_("60 to 80 %")),
    ("80-90", N_("80 to 90 %")),
    ("90-plus", N_("90 % or more")),
    ("not-known", N_("not known (no report, or no consent to see it)")),
)


@dataclass(frozen=True)
class Table:
    """Rows of protected partitions; ``columns`` in order, each row's cells by column key."""

    key: str
    columns: list[str]
    rows: dict[str, Partition]
    population: int
    """how many newcomers the table is about (for signals: the cohort; each row adds up
    to its own total, the newcomers with that signal)"""


@dataclass(frozen=True)
class Cohort:
    size: int
    shown: bool
    """False when the cohort itself is under the threshold: no figures at all"""
    tables: list[Table]


def _weeks(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "not-yet"
    days = (end - start).days
    return (
        "within-4-weeks"
        if days <= 28
        else "4-8-weeks"
        if days <= 56
        else "8-10-weeks"
        if days <= 70
        else "over-10-weeks"
    )


def _attendance(ratio: float | None) -> str:
    if ratio is None:
        return "not-known"
    return (
        "under-60"
        if ratio < 0.6
        else "60-80"
        if ratio < 0.8
        else "80-90"
        if ratio < 0.9
        else "90-plus"
    )


def _split(
    people: Iterable[Newcomer], keys: Iterable[str], key_of: Callable[[Newcomer], str]
) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for person in people:
        key = key_of(person)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _level_at(person: Newcomer, skill: str, months: int) -> str:
    until = (person.placed_at + timedelta(days=round(months * 30.44))).date().isoformat()
    found = [a for a in person.assessments if a[0] == skill and a[1] <= until]
    if not found:
        return "not-assessed"
    level = max(found, key=lambda a: a[1])[2]
    return level if level in ("A0", "A1", "A2", "B1") else "B2+"


def _levels(people: list[Newcomer], skill: str, months: int) -> dict[str, int]:
    return _split(people, LEVELS, lambda p: _level_at(p, skill, months))


def cohort(people: list[Newcomer], today: datetime) -> Cohort:
    """Every table of the cohort page; none at all when the cohort is under 5."""
    size = len(people)
    providers = sorted({p.provider for p in people if p.provider})
    if size < THRESHOLD:
        return Cohort(size, False, [])
    whole = [
        ("route", [*ROUTES, NO_ROUTE], lambda p: p.route or NO_ROUTE),
        ("provider", [*providers, NO_PROVIDER], lambda p: p.provider or NO_PROVIDER),
        ("to-plan", [k for k, _ in WEEKS], lambda p: _weeks(p.placed_at, p.first_plan_at)),
        ("to-report", [k for k, _ in WEEKS], lambda p: _weeks(p.placed_at, p.first_report_at)),
        ("attendance", [k for k, _ in ATTENDANCE], lambda p: _attendance(p.attendance)),
    ]
    tables = []
    for key, columns, key_of in whole:
        counts = _split(people, columns, key_of)
        columns = list(counts)  # a provider not in the directory any more still counts
        tables.append(Table(key, columns, {key: protect(counts, size)}, size))
    for months in (6, 12):
        due = [p for p in people if p.placed_at <= today - timedelta(days=round(months * 30.44))]
        rows = {skill: protect(_levels(due, skill, months), len(due)) for skill in SKILLS}
        tables.append(Table(f"levels-{months}", list(LEVELS), rows, len(due)))
    columns = [*providers, NO_PROVIDER]
    rows = {}
    for code in SIGNALS:
        having = [p for p in people if code in p.signals]
        rows[code] = protect(_split(having, columns, lambda p: p.provider or NO_PROVIDER))
    tables.append(Table("signals", columns, rows, size))
    return Cohort(size, True, tables)


def csv_rows(result: Cohort) -> list[list[str]]:
    """The same cells as the page, hidden ones as the page shows them: one line per cell."""
    lines = [["table", "row", "column", "newcomers"]]
    if not result.shown:
        return [*lines, ["cohort", "", "", "< 5"]]
    for table in result.tables:
        for row, partition in table.rows.items():
            for column, cell in partition.cells.items():
                lines.append([table.key, row, column, cell.text])
            lines.append([table.key, row, "total", partition.total.text])
    return lines
