"""The approximate-nearest-neighbour index of a pool: usearch (cosine) graphs that supply recall's candidates,
persisted next to the pool file (`seer.pool.ann_files`) with a watermark so that opening never rebuilds it.

One index per embedding column and intent partition (plus a global one); keys are seqs. Recall re-scores
the candidates exactly (`seer.pool.recall`), so the index only decides *which* rows are scored.

Two layers. The *base* is the last full save, memory-mapped read-only (`view`): opening a 1M pool maps it
instead of reading GBs into memory. The *delta* (``parts``) holds in memory the rows indexed since; a
removed base row becomes a tombstone (recall scores dead rows −inf, so a tombstone only costs a candidate
slot). Saves write the delta alone while it is small (`seer.pool.ann_files.save_delta`). Once the delta
and tombstones outgrow ``MERGE_SHARE`` of the base, `merge` folds them into an in-memory copy of the base,
built outside the pool's lock so recalls and records go on meanwhile; the index is then *resident* (no base,
everything in ``parts``), as it is in the process that built it, and its saves are full ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool.mirror import COLUMNS, Mirror

# Candidates per index = factor × k (at least MIN_CANDIDATES), the search beam raised to match. Chosen by
# measurement (docs/results/recall-at-scale-2026-12-02, 100k pool shaped like real experiences, real
# ToolQA questions): recall@4 against the exact answer 0.97 / 0.98 / 0.99 / 1.00 at factor 10 / 25 / 50 /
# 100 (p50 1.05 / 0.96 / 1.31 / 2.06 ms); queries that land away from the data (random vectors) need
# factor 200 for 0.97. 50 keeps 0.99 with margin for larger graphs and stays near 1 ms at 100k. At 1M
# (docs/results/recall-1m-layers-2026-12-02) factor 50 gives 0.96 mid-task but 0.94 at step 1 (p50 2.8 ms),
# factor 100 0.985 / 0.96 (4.1 ms): larger graphs need the larger budget, hence LARGE_FACTOR above
# LARGE_INDEX rows.
DEFAULT_FACTOR = 50
LARGE_FACTOR = 100
LARGE_INDEX = 250_000
MIN_CANDIDATES = 64
VERIFY_SAMPLE = 16  # vectors compared with the pool's on load (a foreign or stale index is rebuilt)
MERGE_SHARE = 0.25  # a delta (plus tombstones) above this share of the base is merged into it ...
MERGE_MIN = 20_000  # ... once it holds at least this many rows
MERGE_CHUNK = 8_192  # delta rows copied per hold of the pool's lock while merging

Key = tuple[str, int]  # (embedding column, intent code or GLOBAL)
_EMPTY = np.zeros(0, np.int64)


@dataclass(frozen=True)
class AnnSettings:
    """How the index is built and searched. ``candidate_factor``: candidates per index = factor × k (None:
    DEFAULT_FACTOR, LARGE_FACTOR for an index above LARGE_INDEX rows);
    ``expansion_search``: the graph search's beam (raised to the candidate count when smaller);
    ``dtype``/``connectivity``/``expansion_add``: the graph (changing them rebuilds a saved index);
    ``save_every``: persist after this many changed rows (and on close); ``threads``: insertion threads
    (0: every core). One by default: graphs built concurrently differ run to run and now and then leave
    rows that no search reaches (measured here, 12 builds of 2,000 random rows each: two concurrent builds
    left 22 and 1 such rows, no single-threaded one left any), so the ANN path would never recall them."""

    candidate_factor: int | None = None
    expansion_search: int = 64
    dtype: str = "i8"
    connectivity: int = 16
    expansion_add: int = 64
    save_every: int = 2_000
    threads: int = 1

    def factor(self, rows: int = 0) -> int:
        """Candidates per index per recalled item for an index of ``rows`` rows."""
        if self.candidate_factor is not None:
            return self.candidate_factor
        return LARGE_FACTOR if rows > LARGE_INDEX else DEFAULT_FACTOR

    def count(self, k: int, rows: int = 0) -> int:
        """Candidates per index for a top-k recall from an index of ``rows`` rows."""
        return max(self.factor(rows) * k, MIN_CANDIDATES)

    def graph(self) -> dict[str, Any]:
        """The settings a saved index must share to be reused."""
        return {"dtype": self.dtype, "connectivity": self.connectivity, "expansion_add": self.expansion_add}


class AnnIndex:
    """usearch cosine indexes per embedding column: one global (code -1) and one per intent; keys are seqs.

    Candidates are the global top-C by cosine ∪ the query intent's top-C (from the base and the delta), so
    both the best items that match the intent (s3 = 1) and the best of any intent are among them; recall
    re-scores them exactly.
    """

    GLOBAL = -1

    def __init__(self, dim: int, settings: AnnSettings | None = None) -> None:
        self.dim = dim
        self.settings = settings or AnnSettings()
        self.parts: dict[Key, Any] = {}  # in memory: the delta over the base, or every row when resident
        self.base: dict[Key, Any] = {}  # memory-mapped views of the saved base (read-only); {} = resident
        self.base_dir: Path | None = None  # the folder the base was mapped from
        self.base_files: dict[Key, Path] = {}  # each base part's file
        self.base_bytes: dict[Key, int] = {}  # their sizes when mapped (named again by each delta save)
        self.base_count = 0  # rows in the base
        self.removed: set[int] = set()  # base rows deleted since it was saved (tombstones)
        self._base_keys: np.ndarray | None = None  # sorted, computed on first need
        self.watermark = 0  # highest seq ever indexed
        self.changed = 0  # rows added or removed since the last save (or load)
        self.merge_failed = False  # the base could not be read back: no retry every tick (saves go on)

    def new_part(self) -> Any:
        from usearch.index import Index

        s = self.settings
        return Index(ndim=self.dim, metric="cos", dtype=s.dtype, connectivity=s.connectivity,
                     expansion_add=s.expansion_add, expansion_search=s.expansion_search)

    @property
    def resident(self) -> bool:
        """Whether every row is in memory (no mapped base): saves are then full ones."""
        return not self.base

    def add(self, mirror: Mirror, slots: np.ndarray) -> None:
        """Index the given slots (incremental, into the in-memory layer)."""
        if len(slots) == 0:
            return
        intents = mirror.intent[slots]
        groups = [(self.GLOBAL, slots)] + [(int(c), slots[intents == c]) for c in np.unique(intents)]
        for code, sel in groups:
            for column in COLUMNS:
                part = self.parts.get((column, code))
                if part is None:
                    part = self.parts[(column, code)] = self.new_part()
                part.add(mirror.seq[sel], mirror.vec[column][sel], threads=self.settings.threads)
        self.watermark = max(self.watermark, int(mirror.seq[slots].max()))
        self.changed += len(slots)

    def remove(self, mirror: Mirror, slots: list[int]) -> None:
        self.remove_seqs([int(mirror.seq[s]) for s in slots])

    def remove_seqs(self, seqs: list[int]) -> None:
        """Drop rows by seq from the in-memory parts that hold them; base rows become tombstones."""
        if not seqs:
            return
        keys = np.asarray(seqs, np.int64)
        for part in self.parts.values():
            part.remove(keys)
        if self.base:
            self.removed.update(keys[self.in_base(keys)].tolist())
        self.changed += len(seqs)

    def candidates(self, column: str, vector: np.ndarray, count: int, intent_code: int = -1) -> np.ndarray:
        """Seqs of the approximate `count` nearest neighbours overall and within the intent (if any), from
        each layer (tombstoned base rows among them: recall scores dead rows −inf)."""
        found: list[np.ndarray] = []
        codes = (self.GLOBAL, intent_code) if intent_code >= 0 else (self.GLOBAL,)
        for layer in (self.base, self.parts):
            for code in codes:
                part = layer.get((column, code))
                if part is None or len(part) == 0:
                    continue
                part.expansion_search = max(self.settings.expansion_search, count)
                matches = part.search(vector, count, threads=1)
                found.append(np.asarray(matches.keys, dtype=np.int64))
        return np.unique(np.concatenate(found)) if found else _EMPTY

    def __len__(self) -> int:
        """Live rows indexed (base rows less tombstones, plus the in-memory parts)."""
        part = self.parts.get((COLUMNS[0], self.GLOBAL))
        return self.base_count - len(self.removed) + (0 if part is None else len(part))

    @property
    def delta_count(self) -> int:
        """Rows in the in-memory layer (all of them when resident)."""
        part = self.parts.get((COLUMNS[0], self.GLOBAL))
        return 0 if part is None else len(part)

    def base_keys(self) -> np.ndarray:
        """Sorted seqs of the base (tombstones included)."""
        if self._base_keys is None:
            part = self.base.get((COLUMNS[0], self.GLOBAL))
            self._base_keys = _EMPTY if part is None else np.sort(np.asarray(part.keys, dtype=np.int64))
        return self._base_keys

    def in_base(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` the base holds (a binary search each: no pass over the base)."""
        based = self.base_keys()
        if len(based) == 0:
            return np.zeros(len(keys), bool)
        pos = np.minimum(np.searchsorted(based, keys), len(based) - 1)
        return based[pos] == keys

    def keys(self) -> np.ndarray:
        """Seqs of the live indexed rows."""
        part = self.parts.get((COLUMNS[0], self.GLOBAL))
        held = _EMPTY if part is None else np.asarray(part.keys, dtype=np.int64)
        if not self.base:
            return held
        based = self.base_keys()
        if self.removed:
            based = based[~np.isin(based, np.fromiter(self.removed, np.int64, len(self.removed)))]
        return np.concatenate([based, held])

    def _vector(self, column: str, seq: int) -> np.ndarray | None:
        for layer in (self.parts, self.base):
            part = layer.get((column, self.GLOBAL))
            if part is not None and part.contains(seq):
                return np.asarray(part.get(seq), np.float32).reshape(-1)
        return None

    def attach_base(self, base: dict[Key, Any], files: dict[Key, Path], base_dir: Path, count: int) -> None:
        """Use mapped views (of ``files`` in ``base_dir``) as the base."""
        self.base, self.base_files, self.base_dir, self.base_count = base, files, base_dir, count
        self._base_keys = None

    # ------------------------------------------------------------- catching up
    def catch_up(self, mirror: Mirror) -> tuple[int, int]:
        """Bring a loaded index in line with the mirror: index live rows above the watermark (and any other
        live row it lacks), drop rows no longer live. Returns (added, removed)."""
        n = mirror.n
        live = mirror.alive[:n]
        seqs = mirror.seq[:n]
        below = live & (seqs <= self.watermark)
        missing: np.ndarray
        gone: np.ndarray
        if int(below.sum()) == len(self):  # no deletion since the save (seqs only grow): skip the key diff
            missing, gone = np.flatnonzero(live & (seqs > self.watermark)), _EMPTY
        else:
            keys = self.keys()
            missing = np.flatnonzero(live & ~np.isin(seqs, keys))
            gone = keys[~np.isin(keys, seqs[live])]
        changed = self.changed
        self.remove_seqs(gone.tolist())
        self.add(mirror, missing)
        self.changed = changed + len(missing) + len(gone)
        return len(missing), len(gone)

    def agrees_with(self, mirror: Mirror, rng_seed: int = 0) -> bool:
        """Whether sampled indexed vectors point where the mirror's live rows of the same seq do (a pool file
        swapped for another, or seqs reused, makes them disagree). False when no indexed row is live."""
        keys = self.keys()
        if len(keys) == 0:
            return True
        n = mirror.n
        keys = keys[np.isin(keys, mirror.seq[:n][mirror.alive[:n]])]
        if len(keys) == 0:
            return False
        sample = np.random.default_rng(rng_seed).choice(keys, min(VERIFY_SAMPLE, len(keys)), replace=False)
        slots = mirror.slots_of_seqs(np.sort(sample))
        for column in COLUMNS:
            for slot in slots:
                got = self._vector(column, int(mirror.seq[slot]))
                want = mirror.vec[column][slot]
                norm = 0.0 if got is None else float(np.linalg.norm(got)) * float(np.linalg.norm(want))
                if got is None or norm == 0 or float(got @ want) / norm < 0.9:
                    return False
        return True

    # ------------------------------------------------------------- merging the delta into the base
    def wants_merge(self) -> bool:
        """Whether the delta and tombstones have outgrown their share of the mapped base."""
        grown = self.delta_count + len(self.removed)
        return (bool(self.base) and not self.merge_failed and grown >= MERGE_MIN
                and grown > MERGE_SHARE * self.base_count)

    def merge(self, lock: threading.RLock | threading.Lock) -> bool:
        """Fold the delta and the tombstones into an in-memory copy of the base, then use it: the index
        becomes resident. The copy is read and extended outside ``lock`` (taken only to copy a chunk of
        the delta and to swap), so recalls and records go on meanwhile; rows indexed or removed during the
        merge are applied before the swap. False when the base changed meanwhile (nothing swapped)."""
        from usearch.index import Index

        with lock:
            files, base_dir, tombstones = dict(self.base_files), self.base_dir, set(self.removed)
        if not files or base_dir is None:
            return False
        gone = np.fromiter(tombstones, np.int64, len(tombstones))
        merged: dict[Key, Any] = {}
        for key, file in files.items():
            try:
                part: Any = Index.restore(str(file), view=False)
            except Exception:  # noqa: BLE001 - any unreadable base is the case below
                part = None
            if part is None:  # the base file is gone or damaged: keep the layers as they are
                self.merge_failed = True
                return False
            part.expansion_search = self.settings.expansion_search
            if len(gone):
                part.remove(gone)  # keys a part lacks are skipped
            merged[key] = part
        copied: dict[Key, np.ndarray] = {}
        while True:
            with lock:
                if self.base_dir != base_dir:
                    return False
                batch = self._delta_chunk(copied)
                if not batch:
                    self._swap_merged(merged, copied, tombstones)
                    return True
            for key, (keys, vectors) in batch.items():
                part = merged.get(key)
                if part is None:
                    part = merged[key] = self.new_part()
                part.add(keys, vectors, threads=self.settings.threads)
                copied[key] = np.union1d(copied.get(key, _EMPTY), keys)

    def _delta_chunk(self, copied: dict[Key, np.ndarray]) -> dict[Key, tuple[np.ndarray, np.ndarray]]:
        """Up to MERGE_CHUNK not yet copied rows of each delta part, with their stored vectors."""
        batch = {}
        for key, part in self.parts.items():
            keys = np.setdiff1d(np.asarray(part.keys, dtype=np.int64), copied.get(key, _EMPTY))[:MERGE_CHUNK]
            if len(keys):
                batch[key] = (keys, np.stack(part.get(keys)))
        return batch

    def _swap_merged(self, merged: dict[Key, Any], copied: dict[Key, np.ndarray],
                     tombstones: set[int]) -> None:
        """(Under the lock.) Apply what was removed during the merge, then make the merged copy the index."""
        late = np.fromiter(self.removed - tombstones, np.int64)
        for key, part in merged.items():
            delta = self.parts.get(key)
            dropped = copied.get(key, _EMPTY)
            if delta is not None and len(dropped):  # copied, then removed from the delta
                dropped = dropped[~np.asarray(delta.contains(dropped), bool)]
            for keys in (late, dropped):
                if len(keys):
                    part.remove(keys)  # keys a part lacks are skipped
        self.parts, self.base, self.base_files, self.base_dir, self.base_count = merged, {}, {}, None, 0
        self.base_bytes = {}
        self.removed, self._base_keys = set(), None
        self.changed += 1  # the next save writes the merged index in full
