"""The approximate-nearest-neighbour index of a pool: usearch (cosine) graphs that supply recall's candidates,
persisted next to the pool file with a watermark so that opening never rebuilds it.

One index per embedding column and intent partition (plus a global one); keys are seqs. Recall re-scores
the candidates exactly (`seer.pool.recall`), so the index only decides *which* rows are scored.

Persistence: `save` writes every part and a manifest (pool identity, settings, watermark = highest seq
indexed, count) into a fresh folder and swaps it in, so a crash mid-save leaves the previous complete copy.
`load` trusts a saved index only if the identity and settings match and sampled vectors agree with the
pool's; `catch_up` then indexes the rows committed after the watermark and drops the rows deleted since.
A SIGKILL therefore costs a catch-up of the rows written since the last save, never a rebuild.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool.mirror import COLUMNS, Mirror

# Candidates per index = factor × k (at least MIN_CANDIDATES), the search beam raised to match. Chosen by
# measurement (docs/results/recall-at-scale-2026-12-02, 100k pool shaped like real experiences, real
# ToolQA questions): recall@4 against the exact answer 0.97 / 0.98 / 0.99 / 1.00 at factor 10 / 25 / 50 /
# 100 (p50 1.05 / 0.96 / 1.31 / 2.06 ms); queries that land away from the data (random vectors) need
# factor 200 for 0.97. 50 keeps 0.99 with margin for larger graphs and stays near 1 ms at 100k.
DEFAULT_FACTOR = 50
MIN_CANDIDATES = 64
VERIFY_SAMPLE = 16  # vectors compared with the pool's on load (a foreign or stale index is rebuilt)


@dataclass(frozen=True)
class AnnSettings:
    """How the index is built and searched. ``candidate_factor``: candidates per index = factor × k;
    ``expansion_search``: the graph search's beam (raised to the candidate count when smaller);
    ``dtype``/``connectivity``/``expansion_add``: the graph (changing them rebuilds a saved index);
    ``save_every``: persist after this many changed rows (and on close)."""

    candidate_factor: int = DEFAULT_FACTOR
    expansion_search: int = 64
    dtype: str = "i8"
    connectivity: int = 16
    expansion_add: int = 64
    save_every: int = 2_000

    def count(self, k: int) -> int:
        """Candidates per index for a top-k recall."""
        return max(self.candidate_factor * k, MIN_CANDIDATES)

    def graph(self) -> dict[str, Any]:
        """The settings a saved index must share to be reused."""
        return {"dtype": self.dtype, "connectivity": self.connectivity, "expansion_add": self.expansion_add}


class AnnIndex:
    """usearch cosine indexes per embedding column: one global (code -1) and one per intent; keys are seqs.

    Candidates are the global top-C by cosine ∪ the query intent's top-C, so both the best items that
    match the intent (s3 = 1) and the best of any intent are among them; recall re-scores them exactly.
    """

    GLOBAL = -1

    def __init__(self, dim: int, settings: AnnSettings | None = None) -> None:
        self.dim = dim
        self.settings = settings or AnnSettings()
        self.parts: dict[tuple[str, int], Any] = {}
        self.watermark = 0  # highest seq ever indexed
        self.changed = 0  # rows added or removed since the last save (or load)

    def _new(self) -> Any:
        from usearch.index import Index

        s = self.settings
        return Index(ndim=self.dim, metric="cos", dtype=s.dtype, connectivity=s.connectivity,
                     expansion_add=s.expansion_add, expansion_search=s.expansion_search)

    def add(self, mirror: Mirror, slots: np.ndarray) -> None:
        """Index the given slots (incremental)."""
        if len(slots) == 0:
            return
        intents = mirror.intent[slots]
        groups = [(self.GLOBAL, slots)] + [(int(c), slots[intents == c]) for c in np.unique(intents)]
        for code, sel in groups:
            for column in COLUMNS:
                part = self.parts.get((column, code))
                if part is None:
                    part = self.parts[(column, code)] = self._new()
                part.add(mirror.seq[sel], mirror.vec[column][sel], threads=0)
        self.watermark = max(self.watermark, int(mirror.seq[slots].max()))
        self.changed += len(slots)

    def remove(self, mirror: Mirror, slots: list[int]) -> None:
        self.remove_seqs([int(mirror.seq[s]) for s in slots])

    def remove_seqs(self, seqs: list[int]) -> None:
        """Drop rows by seq from every part that holds them."""
        if not seqs:
            return
        keys = np.asarray(seqs, np.int64)
        for part in self.parts.values():
            part.remove(keys)
        self.changed += len(seqs)

    def candidates(self, column: str, vector: np.ndarray, count: int, intent_code: int = -1) -> np.ndarray:
        """Seqs of the approximate `count` nearest neighbours overall and within the intent (if any)."""
        found: list[np.ndarray] = []
        codes = (self.GLOBAL, intent_code) if intent_code >= 0 else (self.GLOBAL,)
        for code in codes:
            part = self.parts.get((column, code))
            if part is None or len(part) == 0:
                continue
            part.expansion_search = max(self.settings.expansion_search, count)
            matches = part.search(vector, count, threads=1)
            found.append(np.asarray(matches.keys, dtype=np.int64))
        return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def __len__(self) -> int:
        part = self.parts.get((COLUMNS[0], self.GLOBAL))
        return 0 if part is None else len(part)

    def keys(self) -> np.ndarray:
        """Seqs in the index (those of the global part of the first column)."""
        part = self.parts.get((COLUMNS[0], self.GLOBAL))
        return np.zeros(0, np.int64) if part is None else np.asarray(part.keys, dtype=np.int64)

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
            missing, gone = np.flatnonzero(live & (seqs > self.watermark)), np.zeros(0, np.int64)
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
            part = self.parts[(column, self.GLOBAL)]
            for slot in slots:
                got = np.asarray(part.get(int(mirror.seq[slot])), np.float32).reshape(-1)
                want = mirror.vec[column][slot]
                norm = float(np.linalg.norm(got)) * float(np.linalg.norm(want))
                if norm == 0 or float(got @ want) / norm < 0.9:
                    return False
        return True

    # ------------------------------------------------------------- persistence
    def save(self, folder: Path, identity: dict[str, Any]) -> None:
        """Write every part and the manifest into a fresh folder, then swap it in (atomic for readers)."""
        fresh = folder.with_name(folder.name + ".tmp")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        names = {}
        for (column, code), part in self.parts.items():
            name = f"{column}-{code}.usearch"
            part.save(str(fresh / name))
            names[name] = [column, code]
        manifest = {"identity": identity, "graph": self.settings.graph(), "dim": self.dim,
                    "watermark": self.watermark, "count": len(self), "parts": names}
        (fresh / "manifest.json").write_text(json.dumps(manifest))
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
        self.changed = 0

    @classmethod
    def load(cls, folder: Path, identity: dict[str, Any], dim: int,
             settings: AnnSettings | None = None) -> AnnIndex | None:
        """A saved index of this pool with these graph settings, else None (a damaged, foreign or
        differently built index is rebuilt, never trusted). Call `catch_up` and `agrees_with` next."""
        settings = settings or AnnSettings()
        for candidate in (folder, folder.with_name(folder.name + ".old")):  # .old: a save swapped midway
            index = cls._load_one(candidate, identity, dim, settings)
            if index is not None:
                return index
        return None

    @classmethod
    def _load_one(cls, folder: Path, identity: dict[str, Any], dim: int,
                  settings: AnnSettings) -> AnnIndex | None:
        manifest = folder / "manifest.json"
        if not manifest.exists():
            return None
        try:
            data = json.loads(manifest.read_text())
            if (data.get("identity") != identity or data.get("graph") != settings.graph()
                    or data.get("dim") != dim):
                return None
            from usearch.index import Index

            index = cls(dim, settings)
            for name, (column, code) in data["parts"].items():
                part: Any = Index.restore(str(folder / name))
                if part is None or part.ndim != dim:
                    return None
                part.expansion_search = settings.expansion_search
                index.parts[(column, int(code))] = part
            complete = all((c, cls.GLOBAL) in index.parts for c in COLUMNS)
            if len(index) != int(data["count"]) or not complete:
                return None
            index.watermark = int(data["watermark"])
            index.changed = 0
            return index
        except Exception:  # a damaged cache is rebuilt, never trusted
            return None
