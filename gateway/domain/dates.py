"""The dates the domain computes with: RFC 3339, and within years it can mean.

A JSON Schema ``format: date`` admits year 0000 and 9999. Python has no
year 0, and a term of three years from 9999-12-31 overflows: both once
reached the gateway as accepted facts and then broke every read of them
(a 500 for the placing municipality, and for the next after a move). So
every date and time a message carries is held to the years the Wet
inburgering 2021 can mean, 1900-2100, by the schemas' own format check
(``schemas.FORMATS`` replaces the built-in ``date`` and ``date-time``), and
refused at its pointer with 422. The bound leaves room for every sum the
domain makes (a term, a forecast) without overflow.

Pure: no clock, no I/O. Must not import Flask or SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

EARLIEST = date(1900, 1, 1)
"""The earliest date any message may carry (a birth date included)"""

LATEST = date(2100, 12, 31)
"""The latest date any message may carry: 2100 + a term stays far below 9999"""

WI2021_START = date(2022, 1, 1)
"""The Wet inburgering 2021 came into force: no plan (PIP) under it is dated earlier"""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def within(day: date) -> bool:
    """Whether ``day`` lies in the years the domain computes with."""
    return EARLIEST <= day <= LATEST


def is_date(value: object) -> bool:
    """The ``date`` format: a real calendar date, YYYY-MM-DD, 1900-2100.

    Non-strings pass, as JSON Schema formats apply to strings only.
    """
    if not isinstance(value, str):
        return True
    if _DATE.fullmatch(value) is None:
        return False
    try:
        return within(date.fromisoformat(value))
    except ValueError:
        return False


def is_date_time(value: object) -> bool:
    """The ``date-time`` format: RFC 3339 that Python can hold (no leap second), 1900-2100."""
    if not isinstance(value, str):
        return True
    match = _TIME.fullmatch(value)
    if match is None or not is_date(match["date"]):
        return False
    text = value.upper().replace("Z", "+00:00")
    if "." in text:  # Python holds microseconds: a longer fraction is cut, not refused
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - 6]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[-6:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return within(moment.astimezone(UTC).date())
