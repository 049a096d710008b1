"""The ANN index's two layers: a reopened pool maps the saved base read-only and keeps only newer rows in
memory; saves then write that delta alone (the base files are never rewritten); removed base rows are
tombstones; an outgrown delta is merged into an in-memory copy of the base outside the pool's lock, with
rows added and removed during the merge applied before the swap."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seer.pool import AnnSettings, ExperiencePool
from seer.pool import ann as ann_module
from tests.pool.test_pool_ann import WIDE, _columns, _exact, _open, _probe


def _folder(path: Path) -> Path:
    return path.with_name(path.name + ".ann")


def _base_files(path: Path) -> dict[str, tuple[int, int]]:
    """Each base file's (inode, mtime_ns): unchanged when the base is never rewritten."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _folder(path).glob("base-*/*.usearch")}


def _live_seqs(pool: ExperiencePool) -> set[int]:
    m = pool.mirror
    return set(m.seq[: m.n][m.alive[: m.n]].tolist())


def _same_as_exact(pool: ExperiencePool, vectors: np.ndarray) -> None:
    for vec in vectors:
        assert _probe(pool, vec) == _exact(pool, vec)


def _built(path: Path, n: int = 2000) -> None:
    pool = _open(path, ann=WIDE)
    pool.bulk_insert(_columns(0, n, 1))
    assert pool.ann is not None and pool.ann.resident
    pool.close()


def test_a_reopened_pool_maps_the_base_and_saves_only_the_delta(tmp_path: Path) -> None:
    path = tmp_path / "v.duckdb"
    _built(path)
    files = _base_files(path)
    assert len(files) >= 2

    pool = _open(path, ann=WIDE)
    try:
        ann = pool.ann
        assert ann is not None and not ann.resident and ann.delta_count == 0 and len(ann) == 2000
        with pytest.raises(RuntimeError):  # the base is a read-only view of the file
            next(iter(ann.base.values())).add(10**9, np.ones(384, np.float32))
        old = _columns(0, 2000, 1)["trajectory_embedding"]
        _same_as_exact(pool, old[:5])
        new = _columns(2000, 300, 2)
        pool.bulk_insert(new)
        assert pool.forget("syn00000004") and pool.forget("syn00002003")  # a base row and a delta row
        assert ann.delta_count == 299 and ann.removed == {5} and len(ann) == pool.count() == 2298
        _same_as_exact(pool, new["trajectory_embedding"][:5])
        pool.save_ann()
        assert _base_files(path) == files  # the base stays as it was saved
        assert len(list(_folder(path).glob("delta-*/*.usearch"))) >= 2
    finally:
        pool.close()
    assert _base_files(path) == files

    again = _open(path, ann=WIDE)
    try:
        assert again.ann_origin == {"origin": "loaded", "caught_up": 0, "removed": 0}
        assert again.ann is not None and again.ann.removed == {5} and len(again.ann) == 2298
        assert set(again.ann.keys().tolist()) == _live_seqs(again)
        assert "syn00000004" not in _probe(again, old[4])
        _same_as_exact(again, new["trajectory_embedding"][5:10])
    finally:
        again.close()


def _outgrown(path: Path, monkeypatch: pytest.MonkeyPatch, *, rows: int, chunk: int = 100,
              ann: AnnSettings = WIDE) -> ExperiencePool:
    """A reopened 2,000-row pool (base mapped) given ``rows`` more, with merges from 200 rows (a quarter
    of the base decides) in chunks of ``chunk``."""
    monkeypatch.setattr(ann_module, "MERGE_MIN", 200)
    monkeypatch.setattr(ann_module, "MERGE_CHUNK", chunk)
    _built(path)
    pool = _open(path, ann=ann)
    pool.bulk_insert(_columns(2000, rows, 2))
    return pool


class _HookLock:
    """The pool's lock, running ``hook`` once before its n-th acquisition (a write racing a merge)."""

    def __init__(self, lock: Any, at: int, hook: Any) -> None:
        self.lock, self.at, self.hook, self.count = lock, at, hook, 0

    def __enter__(self) -> None:
        self.count += 1
        if self.count == self.at:
            self.hook()
        self.lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)


def test_an_outgrown_delta_is_merged_outside_the_lock_with_racing_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.duckdb"
    pool = _outgrown(path, monkeypatch, rows=600)
    try:
        ann = pool.ann
        assert ann is not None
        assert pool.forget("syn00000007")
        assert ann.wants_merge()
        late = _columns(2600, 50, 3)

        def race() -> None:  # between two chunks: new rows, a removed base row, a removed copied delta row
            pool.bulk_insert(late)
            assert pool.forget("syn00000011") and pool.forget("syn00002001")

        assert ann.merge(_HookLock(pool.lock, 3, race))  # type: ignore[arg-type]
        assert ann.resident and not ann.removed and not ann.base
        assert set(ann.keys().tolist()) == _live_seqs(pool) and len(ann) == pool.count() == 2647
        _same_as_exact(pool, late["trajectory_embedding"][:5])
        _same_as_exact(pool, _columns(2000, 600, 2)["trajectory_embedding"][:5])
        old = _columns(0, 2000, 1)["trajectory_embedding"]
        assert "syn00000011" not in _probe(pool, old[11])
        old_base = {p.parent.name for p in _folder(path).glob("base-*/*.usearch")}
        pool.save_ann()  # a resident index saves in full: a new base, the old one deleted
        new_base = {p.parent.name for p in _folder(path).glob("base-*/*.usearch")}
        assert len(new_base) == 1 and new_base != old_base
        assert not list(_folder(path).glob("delta-*"))
    finally:
        pool.close()
    again = _open(path, ann=WIDE)
    try:
        assert again.ann_origin == {"origin": "loaded", "caught_up": 0, "removed": 0}
        assert again.ann is not None and again.ann.base_count == 2647 and again.ann.delta_count == 0
    finally:
        again.close()


def test_an_unreadable_base_stops_merging_not_recall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "u.duckdb"
    pool = _outgrown(path, monkeypatch, rows=600)
    try:
        ann = pool.ann
        assert ann is not None
        assert ann.wants_merge()
        for part in _folder(path).glob("base-*/*.usearch"):
            part.unlink()  # the mapped views keep their pages; reading the files back fails
        assert not ann.merge(pool.lock)
        assert ann.merge_failed and not ann.wants_merge()  # not retried every tick
        _same_as_exact(pool, _columns(0, 2000, 1)["trajectory_embedding"][:3])
    finally:
        pool.close()  # saves its delta beside the base it mapped, without failing
    again = _open(path, ann=WIDE)
    try:
        assert again.ann_origin["origin"] == "built"  # the base is gone: rebuilt, never trusted
        assert again.ann is not None and len(again.ann) == again.count() == 2600
    finally:
        again.close()


def test_the_writer_thread_merges_while_recalls_go_on(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _outgrown(tmp_path / "w.duckdb", monkeypatch, rows=700, chunk=50,  # above a quarter of the base
                     ann=AnnSettings(candidate_factor=100_000, save_every=1, threads=1))
    try:
        vectors = _columns(0, 2000, 1)["trajectory_embedding"][:20]
        want = [_exact(pool, v) for v in vectors]
        errors: list[BaseException] = []
        stop = threading.Event()

        def recall_loop() -> None:
            try:
                while not stop.is_set():
                    for vec, expected in zip(vectors, want, strict=True):
                        assert _probe(pool, vec) == expected
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        reader = threading.Thread(target=recall_loop)
        reader.start()
        pool._persist()  # what the writer thread runs every tick: merge, then save in full
        stop.set()
        reader.join()
        assert not errors, errors[0]
        assert pool.ann is not None and pool.ann.resident and pool.ann.changed == 0
    finally:
        pool.close()
