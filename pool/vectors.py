"""One embedding column of the mirror: a memory-mapped prefix (the rows of the pool's vector copy, slot i =
row i of the copy) and an in-memory tail for the slots after it (rows not copied yet).

The copy is written by the pool (`seer.pool.persisted`) and the column then *rebased* onto it: the tail's
copied rows are dropped from memory and read from the mapped file instead. A pool of a million rows thus
keeps its float32 vectors in the page cache (shared, reclaimable) rather than in 3 GB of process memory,
and opening maps them instead of copying them. Values never change: the scores are exactly those of an
in-memory matrix.
"""

from __future__ import annotations

import numpy as np

MIN_TAIL = 1024  # rows allocated at least when the tail grows


class VectorColumn:
    """Rows of one column by slot: ``base`` (read-only, mapped) for slots ``< frozen``, ``tail`` after."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.base: np.ndarray = np.zeros((0, dim), np.float32)
        self.tail: np.ndarray = np.zeros((0, dim), np.float32)
        self.copies = 0  # times the tail grew with rows in it (each a copy of those rows)

    @property
    def frozen(self) -> int:
        """Slots held by the mapped prefix."""
        return len(self.base)

    @property
    def tail_bytes(self) -> int:
        """Process memory held by the tail's buffer."""
        return int(self.tail.nbytes)

    def reserve(self, n: int, used: int) -> None:
        """Room for slots up to ``n`` (``used`` slots hold rows now), sized exactly: no doubling later."""
        self._room(n - self.frozen, used - self.frozen, exact=True)

    def _room(self, rows: int, keep: int, *, exact: bool = False) -> None:
        if rows <= len(self.tail):
            return
        size = rows if exact else max(rows, 2 * len(self.tail), MIN_TAIL)
        grown = np.zeros((size, self.dim), np.float32)
        if keep > 0:
            grown[:keep] = self.tail[:keep]
            self.copies += 1
        self.tail = grown

    def put(self, start: int, rows: np.ndarray, used: int) -> None:
        """Write rows at slots ``start``.. (all after the mapped prefix; ``used`` slots hold rows now)."""
        first = start - self.frozen
        if first < 0:
            raise ValueError("the mapped rows never change")
        self._room(first + len(rows), used - self.frozen)
        self.tail[first: first + len(rows)] = rows

    def __getitem__(self, sel: int | slice | np.ndarray | list[int]) -> np.ndarray:
        """Rows of the given slots (a copy, or a view of one part)."""
        frozen = self.frozen
        if isinstance(sel, (int, np.integer)):
            s = int(sel)
            return self.base[s] if s < frozen else self.tail[s - frozen]
        if isinstance(sel, slice):
            start, stop, step = sel.indices(frozen + len(self.tail))
            if step != 1:
                return self[np.arange(start, stop, step)]
            if stop <= frozen:
                return self.base[start:stop]
            if start >= frozen:
                return self.tail[start - frozen: stop - frozen]
            return np.concatenate([self.base[start:], self.tail[: stop - frozen]])
        slots = np.asarray(sel, np.int64)
        if frozen == 0:
            return self.tail[slots]
        if len(slots) and int(slots.min()) >= frozen:
            return self.tail[slots - frozen]
        out = np.empty((len(slots), self.dim), np.float32)
        low = slots < frozen
        out[low] = self.base[slots[low]]
        out[~low] = self.tail[slots[~low] - frozen]
        return out

    def dot(self, sel: slice | np.ndarray, vector: np.ndarray) -> np.ndarray:
        """``rows(sel) @ vector`` without gathering a full scan's rows: each part is multiplied in place."""
        if isinstance(sel, slice) and sel.step in (None, 1):
            start, stop, _ = sel.indices(self.frozen + len(self.tail))
            frozen = self.frozen
            if start < frozen < stop:
                return np.concatenate([self.base[start:frozen] @ vector, self.tail[: stop - frozen] @ vector])
        return np.asarray(self[sel] @ vector)

    def compact_tail(self, keep: np.ndarray) -> None:
        """Move the rows of ``keep`` (ascending slots after the prefix) to the front of the tail."""
        idx = np.asarray(keep, np.int64) - self.frozen
        self.tail[: len(idx)] = self.tail[idx]

    def thaw(self, used: int) -> None:
        """Bring the mapped prefix into memory (before a compaction that moves mapped rows)."""
        if self.frozen == 0:
            return
        rows = np.empty((max(used, MIN_TAIL), self.dim), np.float32)
        rows[: self.frozen] = self.base
        rows[self.frozen: used] = self.tail[: used - self.frozen]
        self.base, self.tail = np.zeros((0, self.dim), np.float32), rows

    def rebase(self, mapped: np.ndarray, used: int) -> None:
        """Map the first ``len(mapped)`` slots from ``mapped`` (the copy's rows, equal to the slots' vectors);
        the tail keeps only the slots after them (``used`` slots hold rows)."""
        count = len(mapped)
        if count < self.frozen or count > used:
            raise ValueError(f"a copy of {count} rows cannot back {self.frozen}..{used} mapped slots")
        rest = self.tail[count - self.frozen: used - self.frozen]
        tail = np.zeros((max(len(rest), MIN_TAIL if len(rest) else 0), self.dim), np.float32)
        tail[: len(rest)] = rest
        self.base, self.tail = mapped, tail
