"""Deferred embedding: records acknowledged once committed with their texts, embedded afterwards.

A pool that defers embedding commits each record to its ``pending_records`` table (one group-commit
transaction, so a crash after the acknowledgement loses nothing) and answers at once; the record is not
recalled yet. `EmbedQueue` keeps the pending records in memory and runs one worker thread that embeds the
oldest in large batches and hands them to the pool, which checks them for near-duplicates and moves them
into the recalled table in one transaction. Rows still pending when a process dies are loaded again on the
next open and embedded then. The queue is bounded: a record arriving when it is full waits for room
(backpressure), so memory and the lag stay bounded when records arrive faster than the model embeds them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from seer.pool.models import Experience
from seer.pool.render import template_key

log = logging.getLogger(__name__)

EMBED_BATCH = 32  # records per model call of the worker (64 texts: questions and trajectories)
MAX_PENDING = 1000  # records waiting at most; more wait for room (MiniLM, one core: ~20 records/s)
LINGER_S = 0.05  # the worker waits this long at most for a batch to fill (fewer, larger transactions)
STOP_WAIT_S = 2.0  # closing waits this long at most for the worker (a batch in the model is abandoned)
RETRY_S = 1.0  # after a failed batch (kept pending), the worker tries again this much later
# The worker runs this much nicer than the request threads (Linux gives each thread its own nice value): on a
# busy core, acknowledging records and answering recalls come first; embedding takes what is left.
WORKER_NICE = 10


@dataclass
class Queued:
    """A record committed but not embedded: the experience (no vectors), the hash of its normalised task
    (`PoolStore.text_hashes`) and when it was acknowledged (monotonic seconds; on reopen, the open)."""

    exp: Experience
    task_hash: int
    acked_at: float


class EmbedQueue:
    """Pending records in acknowledgement order, and the worker that publishes them.

    ``process(batch)`` embeds a batch and publishes it (or merges it away), calling `remove` for each record
    it is done with; an exception leaves the batch pending for a retry. ``warm`` runs first on the worker
    thread (loading the worker's model before the first records arrive)."""

    def __init__(self, label: str, process: Callable[[list[Queued]], None], *, batch: int = EMBED_BATCH,
                 max_pending: int = MAX_PENDING, warm: Callable[[], None] | None = None) -> None:
        self.process = process
        self.warm = warm
        self.batch = batch
        self.max_pending = max_pending
        self._items: dict[str, Queued] = {}  # by id, oldest first
        self._by_task: dict[tuple[str, int], list[str]] = {}  # (template, task hash) -> ids
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"seer-pool-embedder-{label}", daemon=True)
        self.published = 0  # made recallable (moved into the pool) since open
        self.merged = 0  # merged into a near-duplicate once embedded (acknowledged as stored)
        self.lags: deque[float] = deque(maxlen=2000)  # seconds from acknowledgement to recallable
        self.error: Exception | None = None  # the last failed batch

    def __len__(self) -> int:
        return len(self._items)

    # ------------------------------------------------------------- queueing
    def add(self, items: Iterable[Queued]) -> None:
        """Queue committed records (in acknowledgement order) and wake the worker."""
        with self._cv:
            for q in items:
                self._items[q.exp.id] = q
                self._by_task.setdefault(self._task_key(q.exp, q.task_hash), []).append(q.exp.id)
            self._cv.notify_all()

    def wait_room(self, timeout_s: float | None = None) -> None:
        """Block while the queue is full (backpressure on the acknowledging path)."""
        with self._cv:
            self._cv.wait_for(lambda: len(self._items) < self.max_pending or self._stop, timeout_s)

    def remove(self, ids: Sequence[str], *, published: Sequence[str] = (), merged: int = 0) -> None:
        """Forget records (done with, or deleted); ``published``: those now recallable (their lag counts)."""
        now = time.monotonic()
        with self._cv:
            done = set(published)
            for ident in ids:
                q = self._items.pop(ident, None)
                if q is None:
                    continue
                key = self._task_key(q.exp, q.task_hash)
                same = [i for i in self._by_task.get(key, []) if i != ident]
                if same:
                    self._by_task[key] = same
                else:
                    self._by_task.pop(key, None)
                if ident in done:
                    self.lags.append(now - q.acked_at)
            self.published += len(done)
            self.merged += merged
            self._cv.notify_all()

    def get(self, ident: str) -> Queued | None:
        with self._cv:
            return self._items.get(ident)

    def same_task(self, exp: Experience, task_hash: int) -> str | None:
        """A queued record with ``exp``'s template and normalised task that ``exp`` may merge with (an
        active record merges with active ones; another with its own recorder's)."""
        with self._cv:
            for ident in self._by_task.get(self._task_key(exp, task_hash), []):
                other = self._items[ident].exp
                if (other.status == "active") if exp.status == "active" else other.recorder == exp.recorder:
                    return ident
        return None

    @staticmethod
    def _task_key(exp: Experience, task_hash: int) -> tuple[str, int]:
        return template_key(exp.intent, exp.tool_chain), task_hash

    def settle(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued record is published or merged; False on timeout (or when stopped)."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._items or self._stop, timeout_s) and not self._items

    def lag_ms(self) -> dict[str, float]:
        """p50 / p99 / max of the recent acknowledgement-to-recallable lags, in ms."""
        with self._cv:
            lags = np.array(self.lags) * 1000
        if len(lags) == 0:
            return {}
        p50, p99 = np.percentile(lags, [50, 99])
        return {"p50": round(float(p50), 1), "p99": round(float(p99), 1), "max": round(float(lags.max()), 1)}

    # --------------------------------------------------------------- worker
    def start(self) -> None:
        self._thread.start()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called (a batch embedded after it is not published)."""
        return self._stop

    def stop(self, timeout_s: float = STOP_WAIT_S) -> None:
        """Stop the worker; what is still queued stays in the file. A batch being embedded is abandoned (it
        is embedded again after the next open); one being published is finished first."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # elsewhere the worker keeps the process's nice
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE))
        if self.warm is not None:
            try:
                self.warm()
            except Exception as exc:  # the first batch will say what is wrong
                self.error = exc
        while True:
            with self._cv:
                self._cv.wait_for(lambda: bool(self._items) or self._stop)
                self._cv.wait_for(lambda: len(self._items) >= self.batch or self._stop, LINGER_S)
                if self._stop:
                    return
                batch = [q for _, q in zip(range(self.batch), self._items.values(), strict=False)]
            try:
                self.process(batch)
                with self._cv:
                    if self._stop:
                        return
                    if any(self._items.get(q.exp.id) is q for q in batch):
                        raise RuntimeError("a processed record was left pending")
            except Exception as exc:  # kept pending: retried (a model or disk error must not end the thread)
                self.error = exc
                log.exception("embedding %d pending records failed; retrying in %.0f s", len(batch), RETRY_S)
                with self._cv:
                    self._cv.wait_for(lambda: self._stop, RETRY_S)
