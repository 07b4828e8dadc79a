"""Group commit: the requests of one process that wait for the write lock share it.

Every write transaction of the gateway holds the audit counter lock through
its durable commit (an fsync on SQLite, a WAL flush and round trips on
PostgreSQL), so single messages are written one lock and one commit at a
time however many requests are in flight. Here a request that finds the
lock's holder busy queues its checked message; the next holder writes every
queued message in its one transaction and hands each its own result. No
request gets an answer before the commit that holds its message, so a
receipt still means "durably stored"; and each item's result is its own, as
in a batch: one refused item does not sink the others.

With one request thread per process (gunicorn's sync worker) every group
has one member, and this costs two uncontended locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 100
"""At most this many messages in one transaction: bounds the lock's hold time"""


class _Ticket(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit(Generic[Item, Result]):
    """Run ``write`` over the items queued meanwhile; each caller gets its own result."""

    def __init__(self, max_group: int = MAX_GROUP) -> None:
        self.max_group = max_group
        self._queue: list[_Ticket[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()  # held while one group is written

    def submit(self, item: Item, write: Callable[[Sequence[Item]], Sequence[Result]]) -> Result:
        """``item``'s result, once a ``write`` that held it has returned.

        ``write`` gets the queued items in arrival order and returns one result
        per item, in that order; it runs in whichever caller holds the writer
        lock, with that caller's ``write``. When it raises, every item of its
        group fails with that exception (nothing of the group was kept).
        """
        ticket: _Ticket[Item, Result] = _Ticket(item)
        with self._queue_lock:
            self._queue.append(ticket)
        while not ticket.done:
            with self._writer:
                if ticket.done:
                    break
                with self._queue_lock:
                    group = self._queue[: self.max_group]
                    del self._queue[: self.max_group]
                _write(group, write)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]


def _write(
    group: list[_Ticket[Item, Result]], write: Callable[[Sequence[Item]], Sequence[Result]]
) -> None:
    try:
        results = write([ticket.item for ticket in group])
        if len(results) != len(group):
            raise RuntimeError("group write returned a result count unlike its items")
    except BaseException as error:
        for ticket in group:
            ticket.error = error
    else:
        for ticket, result in zip(group, results, strict=True):
            ticket.result = result
    finally:
        for ticket in group:
            ticket.done = True
