"""Group commit: concurrent callers' items applied in one batch (one transaction), each caller answered only
after the batch that holds its item committed.

No thread of its own: the first caller to find no batch running becomes the leader, applies everything
queued (up to ``max_batch``) and wakes the others; items that arrive meanwhile form the next batch. Callers
may announce an item while they prepare it (`coming`): a leader then waits up to ``max_wait_s`` for the
announced items to join its batch. A single caller therefore pays nothing extra, and N concurrent ones
share one transaction's fixed cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Ticket(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Batches `submit` calls into ``apply(items) -> results`` (one result per item, in order)."""

    def __init__(self, apply: Callable[[Sequence[T]], Sequence[R]], max_batch: int = 64,
                 max_wait_s: float = 0.0) -> None:
        self.apply = apply
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._cv = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False
        self._coming = 0  # items announced and not yet submitted
        self._announced = threading.local()
        self.batches = 0  # batches applied (a measure of how much was grouped)

    @contextmanager
    def coming(self) -> Iterator[None]:
        """Announce that this thread is preparing an item it will `submit` inside the block."""
        with self._cv:
            self._coming += 1
        self._announced.pending = True
        try:
            yield
        finally:
            if getattr(self._announced, "pending", False):  # left without submitting
                self._announced.pending = False
                with self._cv:
                    self._coming -= 1
                    self._cv.notify_all()

    def submit(self, item: T) -> R:
        """Apply ``item`` (possibly with others) and return its result once committed; an exception raised
        by the batch is raised in every caller whose item it held."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._cv:
            self._queue.append(ticket)
            if getattr(self._announced, "pending", False):
                self._announced.pending = False
                self._coming -= 1
            self._cv.notify_all()
        while True:
            with self._cv:
                while not ticket.done and self._leading:
                    self._cv.wait()
                if ticket.done:
                    break
                self._leading = True
                deadline = time.monotonic() + self.max_wait_s
                while self._coming > 0 and len(self._queue) < self.max_batch:  # announced items join
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cv.wait(left)
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                results = self.apply([t.item for t in batch])
                if len(results) != len(batch):
                    raise RuntimeError("group commit: apply returned a wrong number of results")
                for t, result in zip(batch, results, strict=True):
                    t.result = result
            except BaseException as exc:
                for t in batch:
                    t.error = exc
            finally:
                with self._cv:
                    for t in batch:
                        t.done = True
                    self.batches += 1
                    self._leading = False
                    self._cv.notify_all()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]
