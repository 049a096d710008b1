"""Group commit: concurrent records share one transaction, each answered after its batch committed; a
record that duplicates an earlier one of the same batch is merged into it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from seer.pool import ExperiencePool, RecordOutcome, RecordRequest
from seer.pool.group_commit import GroupCommit
from tests.pool.conftest import steps_for


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_concurrent_submits_are_batched_and_each_gets_its_result() -> None:
    gate = threading.Event()
    seen: list[list[int]] = []

    def apply(items: Sequence[int]) -> list[int]:
        seen.append(list(items))
        gate.wait(5)
        return [i * 10 for i in items]

    commits: GroupCommit[int, int] = GroupCommit(apply)
    results: dict[int, int] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, commits.submit(i)))
               for i in range(8)]
    threads[0].start()
    _until(lambda: bool(seen))  # the first caller leads a batch of its own and holds it open
    for t in threads[1:]:
        t.start()
    _until(lambda: len(commits._queue) == 7)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == {i: i * 10 for i in range(8)}
    assert seen[0] == [0] and sorted(seen[1]) == list(range(1, 8)) and commits.batches == 2


def test_a_failed_batch_raises_in_every_caller_it_held() -> None:
    def apply(items: Sequence[int]) -> list[int]:
        raise ValueError("disk full")

    commits: GroupCommit[int, int] = GroupCommit(apply)
    with pytest.raises(ValueError, match="disk full"):
        commits.submit(1)
    with pytest.raises(ValueError):  # still usable: the next caller leads a new batch
        commits.submit(2)
    assert commits.batches == 2 and not commits._leading


def test_records_of_one_batch_share_a_transaction_and_merge_duplicates(pool: ExperiencePool) -> None:
    out: dict[str, RecordOutcome | None] = {}

    def go(name: str, task: str) -> None:

        out[name] = pool.record(RecordRequest(task=task, steps=steps_for(["LoadDB", "GetValue"], "x"),
                                              success=True, intent="flight", judge="exact"))

    generation = int(pool.store.meta["generation"])
    gate, apply = threading.Event(), pool._commits.apply

    def held(items):  # type: ignore[no-untyped-def]
        gate.wait(10)  # the first batch waits here until the next two records have queued up
        return apply(items)

    pool._commits.apply = held
    first = threading.Thread(target=go, args=("a", "how late was flight AA1 from ATL"))
    first.start()
    _until(lambda: pool._commits._leading)
    rest = [threading.Thread(target=go, args=(name, "what was the delay of flight DL7 from MCO"))
            for name in ("b", "c")]
    for t in rest:
        t.start()
    _until(lambda: len(pool._commits._queue) == 2)
    gate.set()
    for t in (first, *rest):
        t.join(10)
    a, b, c = out["a"], out["b"], out["c"]
    assert a is not None and b is not None and c is not None
    assert a.stored
    stored, merged = (b, c) if b.stored else (c, b)
    assert stored.stored and not merged.stored and merged.merged_into == stored.id
    assert pool._commits.batches == 2
    assert int(pool.store.meta["generation"]) == generation + 2  # one write transaction per batch
    assert pool.count() == 2 and pool.store.count() == 2


def test_a_leader_waits_for_announced_items_to_join_its_batch() -> None:
    seen: list[list[str]] = []
    commits: GroupCommit[str, str] = GroupCommit(lambda items: seen.append(list(items)) or list(items),
                                                 max_wait_s=30.0)
    preparing, go = threading.Event(), threading.Event()

    def announced() -> None:
        with commits.coming():
            preparing.set()
            go.wait(10)  # still preparing its item while the other caller leads a batch
            commits.submit("b")

    other = threading.Thread(target=announced)
    other.start()
    preparing.wait(10)
    first = threading.Thread(target=commits.submit, args=("a",))
    first.start()
    _until(lambda: commits._leading)
    go.set()
    for t in (first, other):
        t.join(10)
    assert seen == [["a", "b"]] and commits.batches == 1


def test_an_announced_caller_that_gives_up_releases_the_leader() -> None:
    commits: GroupCommit[str, str] = GroupCommit(lambda items: list(items), max_wait_s=30.0)
    preparing, go = threading.Event(), threading.Event()

    def gives_up() -> None:
        with pytest.raises(ValueError), commits.coming():
            preparing.set()
            go.wait(10)
            raise ValueError("bad record")

    other = threading.Thread(target=gives_up)
    other.start()
    preparing.wait(10)
    result: list[str] = []
    first = threading.Thread(target=lambda: result.append(commits.submit("a")))
    first.start()
    _until(lambda: commits._leading)
    go.set()
    first.join(10)  # far less than the 30 s the leader would wait for an item that never comes
    other.join(10)
    assert result == ["a"] and commits._coming == 0
