"""The files of a pool's ANN index (`seer.pool.ann`), in ``<pool>.ann/``: a *base* folder (the last full
save, memory-mapped on open, never rewritten), a *delta* folder (the rows indexed since, and the base's
tombstones) and ``manifest.json`` naming them with the pool identity, graph settings, watermark and counts.

Every save writes a fresh folder, then replaces the manifest atomically, then deletes what the manifest no
longer names: a crash at any point leaves the previous complete state. Folders of the first format (the
parts and manifest at the top) are still read, as a base.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool.ann import AnnIndex, AnnSettings, Key
from seer.pool.mirror import COLUMNS

FORMAT = 2
MANIFEST = "manifest.json"
TOMBSTONES = "removed.npy"


def save_full(index: AnnIndex, folder: Path, identity: dict[str, Any]) -> None:
    """Write a resident index's parts as a new base and name it alone (no delta)."""
    if not index.resident:
        raise ValueError("a full save needs a resident index (merge the mapped base first)")
    name = _fresh("base")
    base = {"dir": name, "count": len(index), "parts": _write_parts(index.parts, folder / name)}
    _commit(folder, identity, index, base=base, delta=None)


def save_delta(index: AnnIndex, folder: Path, identity: dict[str, Any]) -> None:
    """Write the in-memory parts and the tombstones beside the mapped base, which stays as it is."""
    if index.resident or index.base_dir is None:
        raise ValueError("a delta save needs a mapped base")
    base = {"dir": _relative(folder, index.base_dir), "count": index.base_count,
            "parts": {_name(key): {"key": list(key), "bytes": index.base_bytes.get(key)}
                      for key in index.base_files}}
    name = _fresh("delta")
    parts = _write_parts(index.parts, folder / name)
    np.save(folder / name / TOMBSTONES, np.fromiter(sorted(index.removed), np.int64, len(index.removed)))
    delta = {"dir": name, "count": index.delta_count, "parts": parts}
    _commit(folder, identity, index, base=base, delta=delta)


def load(folder: Path, identity: dict[str, Any], dim: int,
         settings: AnnSettings | None = None) -> AnnIndex | None:
    """A saved index of this pool with these graph settings (base mapped, delta in memory), else None: a
    damaged, foreign or differently built index is rebuilt, never trusted. Call `catch_up` and
    `agrees_with` next."""
    settings = settings or AnnSettings()
    try:
        return _load_one(folder, identity, dim, settings)
    except Exception:  # a damaged cache is rebuilt, never trusted
        return None


def _load_one(folder: Path, identity: dict[str, Any], dim: int, settings: AnnSettings) -> AnnIndex | None:
    manifest = folder / MANIFEST
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    if data.get("identity") != identity or data.get("graph") != settings.graph() or data.get("dim") != dim:
        return None
    if data.get("format") != FORMAT:  # first format: the parts at the top are the base
        data["base"] = {"dir": ".", "count": data["count"],
                        "parts": {name: {"key": key} for name, key in data["parts"].items()}}
        data["delta"] = None
    index = AnnIndex(dim, settings)
    base = data["base"]
    base_dir = folder / base["dir"]
    views, files = _read_parts(base_dir, base["parts"], dim, settings, view=True)
    if views is None or not all((c, AnnIndex.GLOBAL) in views for c in COLUMNS):
        return None
    index.attach_base(views, files, base_dir, int(base["count"]))
    index.base_bytes = {key: path.stat().st_size for key, path in files.items()}  # as mapped
    if len(views[(COLUMNS[0], AnnIndex.GLOBAL)]) != index.base_count:
        return None
    delta = data.get("delta")
    if delta is not None:
        parts, _ = _read_parts(folder / delta["dir"], delta["parts"], dim, settings, view=False)
        if parts is None:
            return None
        index.parts = parts
        if index.delta_count != int(delta["count"]):
            return None
        removed = np.load(folder / delta["dir"] / TOMBSTONES, allow_pickle=False)
        index.removed = set(removed.astype(np.int64).tolist())
    if len(index) != int(data["count"]):
        return None
    index.watermark = int(data["watermark"])
    index.changed = 0
    return index


def _read_parts(where: Path, parts: dict[str, dict[str, Any]], dim: int, settings: AnnSettings, *,
                view: bool) -> tuple[dict[Key, Any] | None, dict[Key, Path]]:
    from usearch.index import Index

    out: dict[Key, Any] = {}
    files: dict[Key, Path] = {}
    for name, entry in parts.items():
        path = where / name
        if entry.get("bytes") is not None and path.stat().st_size != int(entry["bytes"]):
            return None, {}
        part: Any = Index.restore(str(path), view=view)
        if part is None or part.ndim != dim:
            return None, {}
        part.expansion_search = settings.expansion_search
        column, code = entry["key"]
        out[(str(column), int(code))] = part
        files[(str(column), int(code))] = path
    return out, files


def _write_parts(parts: dict[Key, Any], where: Path) -> dict[str, dict[str, Any]]:
    where.mkdir(parents=True)
    written = {}
    for key, part in parts.items():
        name = _name(key)
        part.save(str(where / name))
        written[name] = {"key": list(key), "bytes": (where / name).stat().st_size}
    return written


def _commit(folder: Path, identity: dict[str, Any], index: AnnIndex, *, base: dict[str, Any],
            delta: dict[str, Any] | None) -> None:
    """Replace the manifest atomically, then delete whatever it no longer names."""
    manifest = {"format": FORMAT, "identity": identity, "graph": index.settings.graph(), "dim": index.dim,
                "watermark": index.watermark, "count": len(index), "base": base, "delta": delta}
    folder.mkdir(parents=True, exist_ok=True)
    fresh = folder / (MANIFEST + ".tmp")
    with open(fresh, "w") as out:
        json.dump(manifest, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(fresh, folder / MANIFEST)
    index.changed = 0
    keep = {MANIFEST, base["dir"]} | ({delta["dir"]} if delta else set())
    if base["dir"] == ".":
        keep |= set(base["parts"])
    for entry in folder.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _fresh(kind: str) -> str:
    return f"{kind}-{time.time_ns():x}"


def _name(key: Key) -> str:
    return f"{key[0]}-{key[1]}.usearch"


def _relative(folder: Path, where: Path) -> str:
    return "." if where == folder else where.name
