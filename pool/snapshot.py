"""A compact copy of a pool's vectors next to its file, so that opening does not convert millions of DuckDB
arrays: raw float32 matrices (one per embedding column) and the seqs of their rows, memory-mapped on open.

The vectors of a seq never change, so the copy is append-only: rows committed since the last append are
added at the end (by the pool's writer thread), deleted rows simply stay unused until a rewrite. A manifest
written after the data names the pool (identity), the number of valid rows and the highest seq; bytes past
that count (an append cut short by a crash) are ignored. The DuckDB file stays the truth: the pool checks
sampled rows against it and falls back to loading from DuckDB (then rewrites the copy) on any mismatch.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool.mirror import COLUMNS


class VectorSnapshot:
    """The vector copy of one pool: ``<folder>/seq.i64``, ``<column>.f32`` and ``manifest.json``."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self.count = 0  # valid rows on disk
        self.watermark = 0  # highest seq on disk

    def _file(self, name: str) -> Path:
        return self.folder / name

    def load(self, identity: dict[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """(seqs, memory-mapped matrices by column) of a copy made for this pool, else None."""
        try:
            manifest = json.loads(self._file("manifest.json").read_text())
            if manifest.get("identity") != identity or manifest.get("dim") != self.dim:
                return None
            count = int(manifest["count"])
            if count == 0:
                return None
            seqs = np.fromfile(self._file("seq.i64"), np.int64, count=count)
            if len(seqs) != count or (count > 1 and not bool(np.all(np.diff(seqs) > 0))):
                return None
            vectors: dict[str, np.ndarray] = {}
            for column in COLUMNS:
                path = self._file(f"{column}.f32")
                if path.stat().st_size < count * self.dim * 4:
                    return None
                vectors[column] = np.memmap(path, np.float32, mode="r", shape=(count, self.dim))
            self.count, self.watermark = count, int(seqs[-1])
            return seqs, vectors
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def append(self, seqs: np.ndarray, vectors: dict[str, np.ndarray], identity: dict[str, Any]) -> None:
        """Add rows (seqs above the watermark, ascending) at the end, then commit them in the manifest."""
        if len(seqs) == 0:
            return
        if self.count == 0 or not self._file("manifest.json").exists():
            self.rewrite(seqs, vectors, identity)
            return
        if int(seqs[0]) <= self.watermark:
            raise ValueError("snapshot rows must come in seq order")
        self._write_at(self.count, seqs, vectors)
        self._commit(self.count + len(seqs), int(seqs[-1]), identity)

    def rewrite(self, seqs: np.ndarray, vectors: dict[str, np.ndarray], identity: dict[str, Any]) -> None:
        """Replace the copy with these rows (into a fresh folder swapped in)."""
        final = self.folder
        self.folder = final.with_name(final.name + ".tmp")
        try:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            self._write_at(0, seqs, vectors)
            self._commit(len(seqs), int(seqs[-1]) if len(seqs) else 0, identity)
            shutil.rmtree(final, ignore_errors=True)
            self.folder.rename(final)
        finally:
            self.folder = final

    def _write_at(self, row: int, seqs: np.ndarray, vectors: dict[str, np.ndarray]) -> None:
        parts = [("seq.i64", np.ascontiguousarray(seqs, np.int64), 8)]
        parts += [(f"{c}.f32", np.ascontiguousarray(vectors[c], np.float32), 4 * self.dim) for c in COLUMNS]
        for name, data, width in parts:
            path = self._file(name)
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.seek(row * width)
                f.write(data.tobytes())
                f.truncate()

    def _commit(self, count: int, watermark: int, identity: dict[str, Any]) -> None:
        tmp = self._file("manifest.json.tmp")
        tmp.write_text(json.dumps({"identity": identity, "dim": self.dim, "count": count,
                                   "watermark": watermark}))
        os.replace(tmp, self._file("manifest.json"))
        self.count, self.watermark = count, watermark

    def clear(self) -> None:
        """Forget the copy (it is rebuilt on the next append)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.count = self.watermark = 0
