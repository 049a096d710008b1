"""Opening from the vector copy: the same mirror as loading from DuckDB, rows written since (even by a
process that was killed) taken from the file, and a damaged or foreign copy never trusted."""

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

from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, Step


def _columns(start: int, n: int, seed: int) -> dict:
    from seer.eval.bench.recall import synthetic_columns

    return synthetic_columns(np.random.default_rng(seed), start, n, 384)


def _open(path: Path, **kw: object) -> ExperiencePool:
    return ExperiencePool.open(path, HashEmbedder(), intent_labels=None, **kw)  # type: ignore[arg-type]


def _mirror(pool: ExperiencePool) -> dict[str, np.ndarray]:
    m = pool.mirror
    live = np.flatnonzero(m.alive[: m.n])
    def named(codes: np.ndarray, names: list[str]) -> np.ndarray:
        return np.array([names[c] if c >= 0 else None for c in codes.tolist()], dtype=object)

    return {"seq": m.seq[live].copy(), "query": m.vec["query"][live].copy(),
            "trajectory": m.vec["trajectory"][live].copy(), "intent": m.intent[live].copy(),
            "active": m.active[live].copy(), "masks": m.masks[live].copy(), "seed": m.seed[live].copy(),
            "tokens": m.tokens[live].copy(), "task_hash": m.task_hash[live].copy(),
            "template": named(m.template[live], m.templates.names),
            "task": named(m.task[live], m.tasks.names),
            "recorder": named(m.recorder[live], m.recorders.names),
            "judge": named(m.judge[live], m.judges.names),
            "ids": np.array([m.ids[s] for s in live.tolist()], dtype=object)}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _reference(path: Path) -> dict[str, np.ndarray]:
    """The mirror loaded from DuckDB alone."""
    pool = _open(path, vector_copy=False)
    try:
        assert pool.opened_from == "database"
        return _mirror(pool)
    finally:
        pool.close()


def test_reopen_loads_the_vector_copy_and_matches_the_database(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "o.duckdb"
    pool = _open(path)
    assert pool.opened_from == "database"
    cols = _columns(0, 1500, 1)
    cols["source_task_id"] = cols["source_task_id"].copy()
    cols["source_task_id"][::3] = None  # no task id: code -1 on both paths
    cols["judge_kind"] = np.where(np.arange(1500) % 5 == 0, "seed", "exact_match").astype(object)
    cols["recorder"] = np.where(np.arange(1500) % 7 == 0, "alice", "bob").astype(object)
    pool.bulk_insert(cols)
    record(pool, "what was the delay of flight AA1", "flight", ["LoadDB", "GetValue"])
    pool.forget("syn00000007")
    pool.close()
    pool = _open(path)
    try:
        assert pool.opened_from == "vector copy"
        loaded = _mirror(pool)
        steps = [Step(tool="LoadDB", arguments={"target_db": "flight"})]
        out = pool.recall(RecallRequest(task="what was the delay of flight AA1", intent="flight", k=2,
                                        steps_so_far=steps))
        assert out and out[0].task == "what was the delay of flight AA1"
    finally:
        pool.close()
    _same(loaded, _reference(path))


def test_rows_written_by_a_killed_process_come_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    pool = _open(path)
    pool.bulk_insert(_columns(0, 800, 1))
    pool.close()
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from seer.pool import ExperiencePool, HashEmbedder
        from seer.eval.bench.recall import synthetic_columns
        pool = ExperiencePool.open({str(path)!r}, HashEmbedder(), intent_labels=None)
        pool._writer.stop()  # no tick may append to the copy before the kill
        pool._append_copy = lambda: None  # nor bulk_insert, which copies and maps its rows at once
        pool.bulk_insert(synthetic_columns(np.random.default_rng(2), 800, 200, 384))
        assert pool.forget("syn00000004")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True,
                          text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    manifest = json.loads((path.with_name(path.name + ".vectors") / "manifest.json").read_text())
    assert manifest["count"] == 800  # the copy knows nothing of the killed process's rows
    pool = _open(path)
    try:
        assert pool.opened_from == "vector copy" and pool.count() == 999
        loaded = _mirror(pool)
    finally:
        pool.close()
    _same(loaded, _reference(path))
    manifest = json.loads((path.with_name(path.name + ".vectors") / "manifest.json").read_text())
    assert manifest["count"] == 1000 and manifest["watermark"] == 1000  # appended on close


def test_damaged_or_foreign_copy_is_never_trusted(tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for path, seed in ((a, 1), (b, 5)):
        pool = _open(path)
        pool.bulk_insert(_columns(0, 600, seed))
        pool.close()
    copy_a, copy_b = (p.with_name(p.name + ".vectors") for p in (a, b))
    # a copy whose data was overwritten (same manifest): sampled rows disagree with the database
    data = copy_a / "query.f32"
    data.write_bytes(np.random.default_rng(9).random(600 * 384, dtype=np.float32).tobytes())
    pool = _open(a)
    try:
        assert pool.opened_from == "database"
        loaded = _mirror(pool)
    finally:
        pool.close()
    _same(loaded, _reference(a))
    # another pool's copy
    shutil.rmtree(copy_b)
    shutil.copytree(copy_a, copy_b)
    pool = _open(b)
    try:
        assert pool.opened_from == "database"
    finally:
        pool.close()
    # a truncated file
    (copy_b / "trajectory.f32").write_bytes(b"\0" * 100)
    pool = _open(b)
    try:
        assert pool.opened_from == "database"
        loaded = _mirror(pool)
    finally:
        pool.close()
    _same(loaded, _reference(b))


def test_recalled_texts_come_from_the_copy_without_a_query(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.duckdb"
    pool = _open(path)
    ids = [record(pool, f"what was the delay of flight AA{i} from ATL", "flight", ["LoadDB", "GetValue"])
           for i in range(5)]
    truth = {i: pool.store.display_rows([int(pool.mirror.seq[pool.mirror.slot_of_id[i]])]) for i in ids}
    pool.close()
    pool = _open(path)
    try:
        assert pool.opened_from == "vector copy"
        asked: list[list[int]] = []
        real = pool.store.display_rows
        pool.store.display_rows = lambda seqs: asked.append(list(seqs)) or real(seqs)  # type: ignore[method-assign]
        steps = [Step(tool="LoadDB", arguments={"target_db": "flight"})]
        out = pool.recall(RecallRequest(task="what was the delay of flight AA3 from ATL", intent="flight",
                                        k=5, steps_so_far=steps))
        assert len(out) == 5 and asked == []
        for r in out:
            row = next(iter(truth[r.id].values()))
            assert (r.task, r.demo_text, r.tool_chain, r.recorder) == (row["task"], row["demo_text"],
                                                                      row["tool_chain"], row["recorder"])
    finally:
        pool.close()


def test_copies_newer_than_a_restored_file_are_not_trusted(tmp_path: Path) -> None:
    """The pool file restored from an older backup: its next seqs were given to rows the copies still
    hold, so neither the vector copy nor the index is trusted (both are rebuilt from the file)."""
    path, backup = tmp_path / "r.duckdb", tmp_path / "backup.duckdb"
    pool = _open(path, ann_threshold=500)
    pool.bulk_insert(_columns(0, 800, 1))
    pool.close()
    shutil.copy(path, backup)
    pool = _open(path, ann_threshold=500)
    pool.bulk_insert(_columns(800, 300, 2))
    pool.close()
    shutil.copy(backup, path)  # the copies beside it now hold seqs 801-1100, the file only up to 800
    pool = _open(path, ann_threshold=500)
    try:
        assert pool.opened_from == "database" and pool.ann_origin["origin"] == "built"
        assert pool.count() == 800 and pool.ann is not None and len(pool.ann) == 800
    finally:
        pool.close()


def test_vector_copy_appends_are_idempotent_for_concurrent_callers(tmp_path: Path) -> None:
    """The writer thread and an explicit flush can both copy the rows committed since the watermark: the
    second finds them copied and adds nothing (it used to fail with "rows must come in seq order")."""
    from seer.pool.mirror import COLUMNS
    from seer.pool.snapshot import VectorSnapshot

    identity = {"pool": "x"}
    copy = VectorSnapshot(tmp_path / "copy", 4)
    rng = np.random.default_rng(0)

    def rows(first: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray], dict[int, dict[str, str]]]:
        seqs = np.arange(first, first + n, dtype=np.int64)
        vectors = {c: rng.random((n, 4)).astype(np.float32) for c in COLUMNS}
        return seqs, vectors, {int(s): {"task": f"t{s}"} for s in seqs}

    copy.append(*rows(1, 3), identity)
    seqs, vectors, displays = rows(4, 3)
    copy.append(seqs, vectors, displays, identity)
    copy.append(seqs, vectors, displays, identity)  # the same rows again: nothing added
    overlap = rows(5, 3)  # rows 5, 6 copied already, 7 new
    copy.append(*overlap, identity)
    assert (copy.count, copy.watermark) == (7, 7)
    assert copy.display([7])[7] == {"task": "t7"}
    loaded = VectorSnapshot(tmp_path / "copy", 4).load(identity)
    assert loaded is not None and loaded[0].tolist() == list(range(1, 8))
    assert np.allclose(loaded[1]["query"][6], overlap[1]["query"][2])
    with pytest.raises(ValueError, match="seq order"):
        copy.append(np.array([9, 3], np.int64), {c: rng.random((2, 4)).astype(np.float32) for c in COLUMNS},
                    {9: {"task": "t9"}, 3: {"task": "t3"}}, identity)
