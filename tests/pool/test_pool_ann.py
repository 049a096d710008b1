"""The ANN index: persisted with a watermark, caught up after a crash (never rebuilt), never trusted when
damaged or foreign; candidate budget settings; trust filters that leave few candidates."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from seer.eval.bench.workload import PresetEmbedder
from seer.pool import AnnSettings, ExperiencePool, HashEmbedder, RecallRequest
from seer.pool.ann import AnnIndex

# every row a candidate; saved only on close; graphs built on one thread (the same graph every run: one built
# concurrently may leave a row no search reaches, which would make an exact comparison flaky)
WIDE = AnnSettings(candidate_factor=100_000, save_every=10**9, threads=1)


def _columns(start: int, n: int, seed: int) -> dict:
    from seer.eval.bench.recall import synthetic_columns

    return synthetic_columns(np.random.default_rng(seed), start, n, 384)


def _open(path: Path, **kw: object) -> ExperiencePool:
    embedder = PresetEmbedder(HashEmbedder())
    return ExperiencePool.open(path, embedder, intent_labels=None, ann_threshold=500, **kw)  # type: ignore[arg-type]


def _probe(pool: ExperiencePool, vector: np.ndarray, **kw: object) -> list[str]:
    """The top 4 by trajectory similarity to ``vector`` (a process recall before any step)."""
    task = f"probe {vector.tobytes().hex()[:32]}"
    pool.embedder.presets[task] = vector  # type: ignore[attr-defined]
    request = RecallRequest(task=task, strategy="process", k=4, **kw)  # type: ignore[arg-type]
    return [r.id for r in pool.recall(request)]


def _exact(pool: ExperiencePool, vector: np.ndarray, **kw: object) -> list[str]:
    saved = pool.ann_threshold
    pool.ann_threshold = 2**62
    try:
        return _probe(pool, vector, **kw)
    finally:
        pool.ann_threshold = saved


def _kill_after_writes(path: Path, forget: list[str]) -> None:
    """In a child process: open the pool, insert 300 rows, forget some, then die by SIGKILL (no close)."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        import numpy as np
        from seer.pool import AnnSettings, ExperiencePool, HashEmbedder
        from seer.eval.bench.recall import synthetic_columns
        pool = ExperiencePool.open({str(path)!r}, HashEmbedder(), intent_labels=None, ann_threshold=500,
                                   ann=AnnSettings(candidate_factor=100_000, save_every=10**9, threads=1))
        assert pool.ann_origin["origin"] == "loaded", pool.ann_origin
        pool.bulk_insert(synthetic_columns(np.random.default_rng(2), 2000, 300, 384))
        for ident in {forget!r}:
            assert pool.forget(ident)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True,
                          text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_reopen_after_sigkill_catches_up_instead_of_rebuilding(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    pool = _open(path, ann=WIDE)
    pool.bulk_insert(_columns(0, 2000, 1))
    assert pool.ann_origin["origin"] == "built"
    pool.close()  # saves the index with its watermark

    forget = ["syn00000003", "syn00000010", "syn00002005"]  # two saved rows and one written after the save
    _kill_after_writes(path, forget)

    pool = _open(path, ann=WIDE)
    try:
        assert pool.ann_origin == {"origin": "loaded", "caught_up": 299, "removed": 2}
        assert pool.ann is not None and len(pool.ann) == pool.count() == 2297
        new = _columns(2000, 300, 2)
        for row in (0, 7, 150, 299):  # rows committed after the save are candidates again
            vec = new["trajectory_embedding"][row]
            got = _probe(pool, vec)
            assert got == _exact(pool, vec)
            assert got[0] == f"syn{2000 + row:08d}"
        old = _columns(0, 2000, 1)
        assert "syn00000003" not in _probe(pool, old["trajectory_embedding"][3])  # removed rows are gone
    finally:
        pool.close()
    reopened = _open(path, ann=WIDE)
    try:
        assert reopened.ann_origin == {"origin": "loaded", "caught_up": 0, "removed": 0}
    finally:
        reopened.close()


def _saved_pool(path: Path, n: int = 1000, seed: int = 1) -> None:
    pool = _open(path)
    pool.bulk_insert(_columns(0, n, seed))
    pool.close()


def test_damaged_index_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "d.duckdb"
    _saved_pool(path)
    folder = path.with_name(path.name + ".ann")
    part = sorted(folder.glob("base-*/*.usearch"))[0]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 3])
    pool = _open(path)
    try:
        assert pool.ann_origin["origin"] == "built"
        assert pool.ann is not None and len(pool.ann) == 1000
    finally:
        pool.close()
    again = _open(path)  # the rebuilt index was saved on close
    try:
        assert again.ann_origin["origin"] == "loaded"
    finally:
        again.close()


def test_index_of_another_pool_or_settings_is_rebuilt(tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    _saved_pool(a, seed=1)
    _saved_pool(b, seed=5)  # same ids and seqs, other vectors
    folder_a, folder_b = (p.with_name(p.name + ".ann") for p in (a, b))
    manifest_b = json.loads((folder_b / "manifest.json").read_text())
    shutil.rmtree(folder_b)
    shutil.copytree(folder_a, folder_b)
    pool = _open(b)
    try:
        assert pool.ann_origin["origin"] == "built"  # another file's identity
    finally:
        pool.close()
    # the same identity claimed by a foreign index: its vectors disagree with the pool's
    shutil.rmtree(folder_b)
    shutil.copytree(folder_a, folder_b)
    manifest = json.loads((folder_b / "manifest.json").read_text())
    manifest["identity"] = manifest_b["identity"]
    (folder_b / "manifest.json").write_text(json.dumps(manifest))
    pool = _open(b)
    try:
        assert pool.ann_origin["origin"] == "built"
    finally:
        pool.close()
    pool = _open(a, ann=AnnSettings(dtype="f32"))  # other graph settings
    try:
        assert pool.ann_origin["origin"] == "built"
    finally:
        pool.close()


def test_a_save_interrupted_by_a_crash_keeps_the_previous_copy(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    _saved_pool(path)
    folder = path.with_name(path.name + ".ann")
    (folder / "delta-ffff").mkdir()  # killed while writing a new delta, before the manifest named it
    (folder / "delta-ffff" / "query--1.usearch").write_bytes(b"half")
    (folder / "manifest.json.tmp").write_text("{")
    pool = _open(path)
    try:
        assert pool.ann_origin == {"origin": "loaded", "caught_up": 0, "removed": 0}
        pool.bulk_insert(_columns(1000, 10, 2))
        pool.save_ann()  # the next save clears what the manifest does not name
        assert sorted(p.name.split("-")[0] for p in folder.iterdir()) == ["base", "delta", "manifest.json"]
    finally:
        pool.close()


def test_index_is_saved_in_the_background_after_enough_writes(tmp_path: Path) -> None:
    path = tmp_path / "b.duckdb"
    pool = _open(path, ann=AnnSettings(save_every=100))
    try:
        pool.bulk_insert(_columns(0, 1000, 1))
        pool._writer.after_flush()  # type: ignore[misc]  # what the writer thread runs every tick
        manifest = json.loads((path.with_name(path.name + ".ann") / "manifest.json").read_text())
        assert manifest["count"] == 1000 and manifest["watermark"] == 1000
        assert pool.ann is not None and pool.ann.changed == 0
    finally:
        pool.close()


def test_candidate_budget_follows_the_settings() -> None:
    assert AnnSettings(candidate_factor=50).count(4) == 200
    assert AnnSettings(candidate_factor=1).count(4) == 64  # never fewer than 64 per index
    assert AnnSettings().count(4, 100_000) == 200  # by size: factor 50 ...
    assert AnnSettings().count(4, 1_000_000) == 400  # ... and 100 for the larger graphs
    assert AnnSettings(candidate_factor=50).count(4, 1_000_000) == 200  # an explicit factor stays
    index = AnnIndex(8, AnnSettings(expansion_search=32))
    assert index.settings.expansion_search == 32


@pytest.mark.parametrize(("share", "factor"), [(0.01, 5), (0.2, 50)])
def test_trust_filter_returns_k_like_exact_scoring(tmp_path: Path, share: float, factor: int) -> None:
    """Only a share of the pool is from a trusted recorder: the ANN's unfiltered candidates would hold few
    of them (64 per index of 4,000 at factor 5), yet the recall returns k, the same k as exact scoring over
    the trusted rows (a narrow filter is scored exactly, a wider one widens the candidates by 1/share)."""
    pool = _open(tmp_path / "t.duckdb", ann=AnnSettings(candidate_factor=factor, threads=1))
    try:
        n = 4000
        cols = _columns(0, n, 3)
        rng = np.random.default_rng(4)
        cols["recorder"] = np.where(rng.random(n) < share, "alice", "bob").astype(object)
        pool.bulk_insert(cols)
        assert pool.ann is not None
        for row in range(0, 40, 4):
            vec = cols["trajectory_embedding"][row]
            got = _probe(pool, vec, recorders=["alice"])
            assert len(got) == 4
            assert got == _exact(pool, vec, recorders=["alice"])
    finally:
        pool.close()
