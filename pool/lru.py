"""A small bounded least-recently-used mapping (the pool's goal, display and embedding caches)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``maxsize`` entries; a hit or a put makes an entry the newest, the oldest is dropped first.

    Not thread-safe: callers hold their own lock (each cache already lives under one)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or None."""
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` as the most recently used entry, dropping the oldest beyond ``maxsize``."""
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        """Forget ``key`` (no error when absent)."""
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
