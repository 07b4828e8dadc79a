"""One item's fault in a shared write rolls back that item alone.

The group commit writes the messages of concurrent requests, from any
party, in one transaction, and a batch writes all its items in one. A fault
that only one item provokes while it is written (a constraint the checks
missed, a value a computation cannot hold: a bug, but one that content can
trigger) used to fail the whole transaction, and with it every other
party's message (outside testing: 30 % of valid messages got a 500 while
two threads sent poison). Here such a fault rolls the transaction back and
the items are written again in halves, each half its own transaction,
until the item at fault stands alone: it gets its error, the others commit
as if it had never come. The happy path costs nothing; a poison costs
about 2·log2(n) extra transactions.

A database that is busy, full or away (``ServiceUnavailable``) is not an
item's fault: it fails the whole write, as before, and nothing of it is kept.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway import logs
from gateway.errors import GatewayError, RateLimited, ServiceUnavailable

log = logs.get("gateway.intake")

Item = TypeVar("Item")
Result = TypeVar("Result")


def isolated(
    items: Sequence[Item], write: Callable[[Sequence[Item]], list[Result]],
    failed: Callable[[Item, GatewayError], Result],
) -> list[Result]:  # fmt: skip
    """``write(items)`` in one transaction; on an item's fault, the others without it.

    ``write`` must open, fill and commit its own transaction for the items it
    is given and return one result per item, in order; it is called again
    with parts of ``items`` after a fault, so it must not change anything
    outside its transaction. ``failed`` makes the result of an item that
    fails when written alone, from the error it gets (a bare internal error
    for anything that is not a GatewayError).
    Raises ServiceUnavailable and RateLimited as they come: the whole write failed.
    """
    try:
        return write(items)
    except (ServiceUnavailable, RateLimited):
        raise
    except Exception as error:  # any fault: find the item that made it
        if len(items) > 1:
            middle = len(items) // 2
            return isolated(items[:middle], write, failed) + isolated(items[middle:], write, failed)
        log.error("item_write_failed", error=logs.error_kind(error), at=_where(error))
        if isinstance(error, GatewayError):
            return [failed(items[0], error)]
        return [failed(items[0], GatewayError())]


def _where(error: BaseException) -> str:
    """file:line where ``error`` was raised: never its message, which may quote input."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
