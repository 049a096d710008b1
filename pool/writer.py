"""Write-behind of a pool's usage counters and new cache embeddings, batched off the recall path."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import numpy as np

from seer.pool.store import PoolStore


class WriteBehind(threading.Thread):
    """A daemon thread that writes queued times_recalled increments and embeddings every ``interval`` s,
    then runs ``after_flush`` (the pool's periodic index save)."""

    def __init__(self, store: PoolStore, interval: float = 0.5,
                 after_flush: Callable[[], None] | None = None) -> None:
        super().__init__(name=f"seer-pool-writer-{store.label}", daemon=True)
        self.store = store
        self.interval = interval
        self.after_flush = after_flush
        self.lock = threading.Lock()
        self.recalled: Counter[int] = Counter()
        self.cache: dict[str, np.ndarray] = {}
        self.stop_event = threading.Event()
        self.error: Exception | None = None  # the last failed flush (recall must not fail on statistics)

    def count_recalled(self, seqs: list[int]) -> None:
        """Queue times_recalled += 1 for each seq (repeats count again)."""
        with self.lock:
            self.recalled.update(seqs)

    def queue_cache(self, items: dict[str, np.ndarray]) -> None:
        """Queue new embedding-cache entries."""
        with self.lock:
            self.cache.update(items)

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.flush()
            if self.after_flush is not None:
                try:
                    self.after_flush()
                except Exception as exc:  # a failed save is retried at the next tick
                    self.error = exc

    def flush(self) -> None:
        """Write everything queued now."""
        with self.lock:
            recalled, self.recalled = self.recalled, Counter()
            cache, self.cache = self.cache, {}
        try:
            self.store.add_times_recalled(dict(recalled))
            self.store.cache_save(cache)
        except Exception as exc:
            self.error = exc

    def stop(self) -> None:
        """Stop the thread, then write what is still queued."""
        self.stop_event.set()
        if self.is_alive():
            self.join()
        self.flush()
