"""Group commit: concurrent callers share one write and each gets its own result."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import pytest

from gateway.service.groupcommit import GroupCommit


class _Writer:
    """Records each group; the first write waits until the others have queued."""

    def __init__(
        self, hold_first: threading.Event | None = None, fail: AbstractSet[int] = frozenset()
    ):
        self.groups: list[list[int]] = []
        self.hold_first = hold_first
        self.fail = fail
        self.started = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        if len(self.groups) == 1 and self.hold_first is not None:
            self.started.set()
            assert self.hold_first.wait(10)
        if set(items) & self.fail:
            raise RuntimeError("this group failed")
        return [item * 10 for item in items]


def _submit_all(
    group: GroupCommit[int, int], writer: _Writer, items: list[int]
) -> dict[int, int | BaseException]:
    results: dict[int, int | BaseException] = {}

    def one(item: int) -> None:
        try:
            results[item] = group.submit(item, writer)
        except BaseException as error:  # collected for the assertions
            results[item] = error

    first = threading.Thread(target=one, args=(items[0],))
    first.start()
    assert writer.started.wait(10)  # the first caller now holds the writer
    rest = [threading.Thread(target=one, args=(item,)) for item in items[1:]]
    for thread in rest:
        thread.start()
    while len(group._queue) < len(rest):  # every other caller has queued
        threading.Event().wait(0.001)
    assert writer.hold_first is not None
    writer.hold_first.set()
    for thread in [first, *rest]:
        thread.join(10)
    return results


def test_callers_that_wait_meanwhile_share_the_next_write_and_get_their_own_results() -> None:
    writer = _Writer(threading.Event())
    results = _submit_all(GroupCommit(), writer, list(range(1, 9)))
    assert results == {item: item * 10 for item in range(1, 9)}
    assert writer.groups[0] == [1]
    assert sorted(writer.groups[1]) == list(range(2, 9)) and len(writer.groups) == 2


def test_a_group_is_never_larger_than_its_bound() -> None:
    writer = _Writer(threading.Event())
    results = _submit_all(GroupCommit(max_group=3), writer, list(range(1, 9)))
    assert results == {item: item * 10 for item in range(1, 9)}
    assert [len(g) for g in writer.groups] == [1, 3, 3, 1]


def test_a_failed_write_fails_its_whole_group_and_no_other() -> None:
    writer = _Writer(threading.Event(), fail={1})
    results = _submit_all(GroupCommit(), writer, [1, 2, 3])
    assert isinstance(results[1], RuntimeError)
    assert results[2] == 20 and results[3] == 30

    writer = _Writer(threading.Event(), fail={3})
    results = _submit_all(GroupCommit(), writer, [1, 2, 3])
    assert results[1] == 10
    assert isinstance(results[2], RuntimeError) and isinstance(results[3], RuntimeError)


def test_a_write_that_miscounts_its_results_fails_rather_than_misroutes() -> None:
    with pytest.raises(RuntimeError, match="result count"):
        GroupCommit[int, int]().submit(1, lambda items: [])


def test_one_caller_alone_is_written_at_once() -> None:
    assert GroupCommit[int, int]().submit(4, lambda items: [i + 1 for i in items]) == 5
