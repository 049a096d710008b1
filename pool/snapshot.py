"""A compact copy of a pool next to its file, so that opening does not convert millions of DuckDB arrays and
a recall does not query DuckDB for its texts: raw float32 matrices (one per embedding column), the display
texts a recall returns (one JSON line per row), and the seqs of their rows, memory-mapped.

A row's vectors and display texts never change, so the copy is append-only: rows committed since the last
append are added at the end (by the pool's writer thread), deleted rows simply stay unused until a
rewrite. A manifest written after the data names the pool (identity), the number of valid rows and the
highest seq; bytes past that count (an append cut short by a crash) are ignored. The DuckDB file stays the
truth: the pool checks sampled rows against it and falls back to loading from DuckDB (then rewrites the
copy) on any mismatch.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool.mirror import COLUMNS

_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64), b"")
Displays = Mapping[int, dict[str, Any]]  # display rows by seq


class VectorSnapshot:
    """The copy of one pool: ``<folder>/seq.i64``, ``<column>.f32``, ``display.jsonl`` with its row end
    offsets ``display.end``, and ``manifest.json``."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self.count = 0  # valid rows on disk
        self.watermark = 0  # highest seq on disk
        # (seqs, display end offsets, display bytes) of the rows mapped for `display`; replaced whole
        self._maps: tuple[np.ndarray, np.ndarray, Any] = _EMPTY
        self._lock = threading.Lock()  # appends and rewrites (the writer thread, close)

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
            self._map_display(seqs)
            return seqs, vectors
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def mapped(self) -> dict[str, np.ndarray]:
        """The matrices of the valid rows, memory-mapped read-only (row i of the copy = slot i of the
        mirror that wrote it)."""
        if self.count == 0:
            return {c: np.zeros((0, self.dim), np.float32) for c in COLUMNS}
        return {c: np.memmap(self._file(f"{c}.f32"), np.float32, mode="r", shape=(self.count, self.dim))
                for c in COLUMNS}

    def _map_display(self, seqs: np.ndarray) -> None:
        """Map the display texts of ``seqs`` (the first rows on disk) for `display`."""
        ends = np.fromfile(self._file("display.end"), np.int64, count=len(seqs))
        if len(ends) != len(seqs) or (len(ends) and self._file("display.jsonl").stat().st_size < ends[-1]):
            raise ValueError("display texts cut short")
        with open(self._file("display.jsonl"), "rb") as f:
            text: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if len(ends) and ends[-1] else b""
        self._maps = (seqs, ends, text)

    def display(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The display rows (task, intent, demo_text, tool_chain, recorder, judge) of the mapped seqs among
        ``seqs``; rows not in the copy are left out."""
        mapped, ends, text = self._maps
        if len(mapped) == 0 or not seqs:
            return {}
        wanted = np.asarray(seqs, np.int64)
        pos = np.minimum(np.searchsorted(mapped, wanted), len(mapped) - 1)
        out = {}
        for seq, p in zip(wanted.tolist(), pos.tolist(), strict=True):
            if mapped[p] == seq:
                start = int(ends[p - 1]) if p else 0
                out[seq] = json.loads(text[start: int(ends[p])])
        return out

    def append(self, seqs: np.ndarray, vectors: dict[str, np.ndarray], displays: Displays,
               identity: dict[str, Any]) -> None:
        """Add rows (seqs above the watermark, ascending; ``displays`` by seq) at the end, then commit them
        in the manifest."""
        if len(seqs) == 0:
            return
        with self._lock:
            if self.count == 0 or not self._file("manifest.json").exists():
                self._rewrite(seqs, vectors, displays, identity)
                return
            fresh = seqs > self.watermark
            if not fresh.all():  # a concurrent caller copied these rows first (copied rows never change)
                if np.any(np.diff(fresh.astype(np.int8)) < 0):
                    raise ValueError("snapshot rows must come in seq order")
                if not fresh.any():
                    return
                seqs, vectors = seqs[fresh], {c: v[fresh] for c, v in vectors.items()}
            self._write_at(self.count, seqs, vectors, displays)
            self._commit(self.count + len(seqs), int(seqs[-1]), identity)
            self._map_display(np.fromfile(self._file("seq.i64"), np.int64, count=self.count))

    def rewrite(self, seqs: np.ndarray, vectors: dict[str, np.ndarray], displays: Displays,
                identity: dict[str, Any]) -> None:
        """Replace the copy with these rows (written into a fresh folder swapped in)."""
        with self._lock:
            self._rewrite(seqs, vectors, displays, identity)

    def _rewrite(self, seqs: np.ndarray, vectors: dict[str, np.ndarray], displays: Displays,
                 identity: dict[str, Any]) -> None:
        final = self.folder
        self.folder = final.with_name(final.name + ".tmp")
        try:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            self._write_at(0, seqs, vectors, displays)
            self._commit(len(seqs), int(seqs[-1]) if len(seqs) else 0, identity)
            shutil.rmtree(final, ignore_errors=True)
            self.folder.rename(final)
        finally:
            self.folder = final
        self._map_display(np.asarray(seqs, np.int64).copy())

    def _write_at(self, row: int, seqs: np.ndarray, vectors: dict[str, np.ndarray],
                  displays: Displays) -> None:
        start = 0
        if row:
            start = int(np.fromfile(self._file("display.end"), np.int64, count=row)[-1])
        lines = [json.dumps(displays[int(s)], ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                 for s in seqs]
        ends = start + np.cumsum([len(line) for line in lines], dtype=np.int64)
        parts: list[tuple[str, Any, int]] = [  # arrays written from their buffers (no bytes copy)
            ("seq.i64", _raw(seqs, np.int64), row * 8)]
        parts += [(f"{c}.f32", _raw(vectors[c], np.float32),
                   row * 4 * self.dim) for c in COLUMNS]
        parts += [("display.end", ends.tobytes(), row * 8), ("display.jsonl", b"".join(lines), start)]
        for name, data, offset in parts:
            path = self._file(name)
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.seek(offset)
                f.write(data)
                f.truncate()

    def _commit(self, count: int, watermark: int, identity: dict[str, Any]) -> None:
        tmp = self._file("manifest.json.tmp")
        tmp.write_text(json.dumps({"identity": identity, "dim": self.dim, "count": count,
                                   "watermark": watermark}))
        os.replace(tmp, self._file("manifest.json"))
        self.count, self.watermark = count, watermark

    def clear(self) -> None:
        """Forget the copy (it is rebuilt on the next append)."""
        with self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.count = self.watermark = 0
            self._maps = _EMPTY


def _raw(array: np.ndarray, dtype: type[np.generic]) -> memoryview | bytes:
    """The bytes of an array as a view of its buffer (a copy only if it is not contiguous already)."""
    data = np.ascontiguousarray(array, dtype)
    return data.data.cast("B") if data.size else b""
