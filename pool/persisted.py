"""What a pool keeps next to its file and how it comes back on open: the vector and display copy
(`seer.pool.snapshot`) and the ANN index with its watermark (`seer.pool.ann`). Opening loads both and
catches them up with the file, never rebuilding what is still good; the writer thread extends the copy and
saves the index as rows are committed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool import ann_files
from seer.pool.ann import AnnIndex, AnnSettings
from seer.pool.mirror import COLUMNS, Mirror
from seer.pool.snapshot import VectorSnapshot
from seer.pool.store import PoolStore

ANN_SAVE_INTERVAL_S = 30.0  # persist a changed index at least this often (a crash costs a catch-up of those)
FULL_SAVE_GAP = 20  # a resident index's full save waits 20× the last one's duration (≤ 5% of the time)


class PoolFiles:
    """The persisted copies of an :class:`~seer.pool.experience_pool.ExperiencePool` (a mixin: it uses the
    pool's store, mirror, lock and settings)."""

    store: PoolStore
    mirror: Mirror
    lock: threading.RLock
    ann: AnnIndex | None
    ann_settings: AnnSettings
    ann_threshold: int
    persist_ann: bool
    ann_origin: dict[str, Any]
    opened_from: str
    _snapshot: VectorSnapshot | None
    _ann_saved_at: float
    _ann_save_s: float

    def _append_mirror(self, cols: dict[str, Any], *, index: bool = True) -> None:
        raise NotImplementedError

    def _ann_folder(self) -> Path:
        return self.store.path.with_name(self.store.path.name + ".ann")

    def _ann_identity(self) -> dict[str, Any]:
        """What a saved index must have been built for: this pool file (its creation time) and embedder."""
        return {"pool_created_at": self.store.meta.get("created_at"), "embedder": self.store.embedder_id}

    def _load(self) -> None:
        self.mirror = Mirror(self.store.dim)
        if not self._load_from_copy():
            self.mirror = Mirror(self.store.dim)
            if self._snapshot is None:
                self.mirror.reserve(self.store.count())
            else:
                self._snapshot.clear()
            for cols in self.store.load_mirror():
                self._append_mirror(cols, index=False)
                self._append_copy()  # copied and mapped batch by batch: one batch of vectors in memory
            self.opened_from = "database"
        self.ann = None
        self._maybe_build_ann()

    def _load_from_copy(self) -> bool:
        """Map the vector copy's matrices into the mirror and fill in the database's scalar columns (rows
        after its watermark come whole from the database); False when there is no usable copy or a sampled
        row disagrees. Rows deleted since they were copied stay as dead slots."""
        snap = self._snapshot.load(self._ann_identity()) if self._snapshot is not None else None
        if snap is None or self._snapshot is None:
            return False
        copy_seqs, matrices = snap
        watermark = self._snapshot.watermark
        if watermark >= self.store.next_seq():  # made from a later state: the file was restored from a backup
            return False
        m = self.mirror
        m.open_copy(copy_seqs, matrices)
        m.reserve(max(self.store.count(), len(copy_seqs)))
        coded = self.store.load_coded(watermark)
        seqs = coded["seq"]
        pos = np.minimum(np.searchsorted(copy_seqs, seqs), len(copy_seqs) - 1)
        if len(seqs) and not bool(np.all(copy_seqs[pos] == seqs)):
            return False  # a row the copy should hold is not there
        m.fill(pos, coded)
        for cols in self.store.load_mirror(after=watermark):
            self._append_mirror(cols, index=False)
        if not self._copy_agrees():
            return False
        self.opened_from = "vector copy"
        if self._snapshot.count > 2 * max(m.live, 1024):  # mostly deleted rows: write it anew
            self._rewrite_copy()
        return True

    def _copy_agrees(self, sample: int = 8) -> bool:
        """Whether sampled mirror rows have the database's vectors."""
        m = self.mirror
        slots = np.flatnonzero(m.alive[: m.n])
        if len(slots) == 0:
            return True
        picked = np.random.default_rng().choice(slots, min(sample, len(slots)), replace=False)
        seqs = [int(m.seq[s]) for s in picked]
        stored = self.store.vectors(seqs)
        assert self._snapshot is not None
        copied, truth = self._snapshot.display(seqs), self.store.display_rows(seqs)
        if any(seq in copied and copied[seq] != truth.get(seq) for seq in seqs):
            return False
        return all(
            int(m.seq[s]) in stored
            and np.allclose(stored[int(m.seq[s])][0], m.vec["query"][int(s)], atol=1e-6)
            and np.allclose(stored[int(m.seq[s])][1], m.vec["trajectory"][int(s)], atol=1e-6)
            for s in picked
        )

    def _rewrite_copy(self) -> None:
        """Write the copy anew from the mirror's live rows (dead slots dropped first), then map it."""
        if self._snapshot is None:
            return
        with self.lock:
            m = self.mirror
            m.compact(full=True)
            if m.n == 0:
                self._snapshot.clear()
                return
            seqs = m.seq[: m.n].copy()
            self._snapshot.rewrite(seqs, {c: m.vec[c][0: m.n] for c in COLUMNS},
                                   self.store.display_rows(seqs.tolist()), self._ann_identity())
            m.rebase(self._snapshot.mapped())

    def _append_copy(self) -> None:
        """Add the mirror's slots after the copy's rows (dead ones too: copy row i is slot i) to the vector
        copy, then map them: their vectors leave the process's memory."""
        if self._snapshot is None:
            return
        with self.lock:
            m, start = self.mirror, self._snapshot.count
            if start != m.frozen:  # not this mirror's copy (never expected): write it anew
                self._rewrite_copy()
                return
            if m.n == start:
                return
            seqs = m.seq[start: m.n].copy()
            displays: dict[int, dict[str, Any]] = dict.fromkeys(seqs.tolist(), {})  # dead: never shown
            displays.update(self.store.display_rows(seqs[m.alive[start: m.n]].tolist()))
            self._snapshot.append(seqs, {c: m.vec[c][start: m.n] for c in COLUMNS}, displays,
                                  self._ann_identity())
            m.rebase(self._snapshot.mapped())

    def _maybe_build_ann(self) -> None:
        """Above the threshold: load the saved index and catch it up with the pool, else build it."""
        if self.ann is not None or self.mirror.live < self.ann_threshold:
            return
        if self.persist_ann:
            ann = ann_files.load(self._ann_folder(), self._ann_identity(), self.store.dim, self.ann_settings)
            # an index made from a later state of the file (restored from a backup) may hold reused seqs
            fresh = ann is not None and ann.watermark < self.store.next_seq()
            if ann is not None and fresh and ann.agrees_with(self.mirror):
                added, removed = ann.catch_up(self.mirror)
                self.ann = ann
                self.ann_origin = {"origin": "loaded", "caught_up": added, "removed": removed}
                return
        ann = AnnIndex(self.store.dim, self.ann_settings)
        ann.add(self.mirror, np.flatnonzero(self.mirror.alive[: self.mirror.n]))
        self.ann = ann
        self.ann_origin = {"origin": "built", "caught_up": 0, "removed": 0}

    def _recall_ann(self) -> AnnIndex | None:
        """The ANN index once the pool is large enough to use it (built on first need), else None."""
        if self.mirror.live < self.ann_threshold:
            return None
        self._maybe_build_ann()
        return self.ann

    def save_ann(self) -> None:
        """Persist the ANN index next to the pool file with its watermark (on open it is mapped and caught
        up with the rows written since, never rebuilt): the delta alone over a mapped base, else in full."""
        with self.lock:
            ann = self.ann
            started = time.monotonic()
            if ann is not None and self.persist_ann:
                if ann.resident:
                    ann_files.save_full(ann, self._ann_folder(), self._ann_identity())
                    self._ann_save_s = time.monotonic() - started
                else:
                    ann_files.save_delta(ann, self._ann_folder(), self._ann_identity())
            self._ann_saved_at = time.monotonic()

    def _persist(self) -> None:
        """The writer thread's tick: append new rows to the vector copy; merge an outgrown delta into the
        base (outside the lock); persist a changed index every `save_every` changed rows or
        ANN_SAVE_INTERVAL_S, a full save no more often than FULL_SAVE_GAP times its duration."""
        self._append_copy()
        ann = self.ann
        if ann is None or not self.persist_ann:
            return
        if ann.wants_merge():
            ann.merge(self.lock)
        if ann.changed == 0:
            return
        since = time.monotonic() - self._ann_saved_at
        due = since >= ANN_SAVE_INTERVAL_S or ann.changed >= self.ann_settings.save_every
        if due and (not ann.resident or since >= FULL_SAVE_GAP * self._ann_save_s):
            self.save_ann()
