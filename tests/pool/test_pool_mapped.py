"""The mirror's vectors mapped from the vector copy: a bulk load leaves them in the file (no growth copies,
nothing in memory), a reopened pool maps them and recalls exactly as one loaded from DuckDB, and dead or
compacted slots never shift a mapped row."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, Step
from seer.pool.vectors import VectorColumn

EXACT = 2**62  # an ANN threshold no pool reaches: every recall scores every row


def _columns(start: int, n: int, seed: int) -> dict:
    from seer.eval.bench.recall import synthetic_columns

    return synthetic_columns(np.random.default_rng(seed), start, n, 384)


def _open(path: Path, **kw: object) -> ExperiencePool:
    return ExperiencePool.open(path, HashEmbedder(), intent_labels=None, ann_threshold=EXACT, **kw)  # type: ignore[arg-type]


def _recalls(pool: ExperiencePool) -> list[list[tuple[str, float]]]:
    """(id, score) of a few exact recalls: goal, mid-task (process) and blend."""
    out = []
    for i, tools in enumerate((["LoadDB"], ["LoadDB", "FilterDB"], ["RetrieveAgenda"])):
        steps = [Step(tool=t, arguments={"raw": f"{t} {i}"}, observation="ok") for t in tools]
        for strategy, history in (("goal", []), ("hybrid", steps), ("blend", steps)):
            request = RecallRequest(task=f"synthetic flight question {i * 97}", intent="flight", k=4,
                                    strategy=strategy, steps_so_far=history)  # type: ignore[arg-type]
            out.append([(r.id, round(r.score, 6)) for r in pool.recall(request)])
    return out


def test_a_bulk_load_maps_its_vectors_and_makes_no_growth_copy(tmp_path: Path) -> None:
    pool = _open(tmp_path / "b.duckdb")
    try:
        pool.bulk_insert(_columns(0, 3000, 1))  # one batch of 3,000 rows into an empty pool
        m = pool.mirror
        assert m.copies_made() == 0  # doubling from 1,024 would have copied once
        assert m.frozen == m.n == 3000
        assert all(isinstance(c.base, np.memmap) and c.tail_bytes == 0 for c in m.vec.values())
        pool.bulk_insert(_columns(3000, 2000, 2))  # a second batch: sized once, exactly; mapped after
        assert m.copies == 1 and all(c.copies == 0 for c in m.vec.values()) and m.frozen == 5000
    finally:
        pool.close()


def test_a_reopened_pool_maps_the_copy_and_recalls_identically(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.duckdb"
    pool = _open(path)
    pool.bulk_insert(_columns(0, 2000, 1))
    record(pool, "synthetic flight question 0 again", "flight", ["LoadDB", "FilterDB"])
    for ident in ("syn00000003", "syn00000500", "syn00001999"):
        assert pool.forget(ident)
    before = _recalls(pool)
    pool.close()

    pool = _open(path)
    try:
        assert pool.opened_from == "vector copy"
        m = pool.mirror
        assert m.frozen == 2001 and m.live == 1998  # the forgotten rows stay as dead mapped slots
        assert all(isinstance(c.base, np.memmap) and c.tail_bytes == 0 for c in m.vec.values())
        reopened = _recalls(pool)
        record(pool, "synthetic flight question 97 once more", "flight", ["LoadDB"])  # a tail row
        assert m.n == 2002 and m.frozen == 2001
        with_tail = _recalls(pool)
    finally:
        pool.close()
    assert reopened == before

    database = _open(path, vector_copy=False)
    try:
        assert database.opened_from == "database" and database.mirror.frozen == 0
        assert _recalls(database) == with_tail
    finally:
        database.close()


def test_compaction_moves_only_rows_after_the_mapped_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    pool = _open(path)
    try:
        pool.bulk_insert(_columns(0, 1500, 1))
        pool._append_copy = lambda: None  # type: ignore[method-assign]  # keep the next rows in the tail
        pool.bulk_insert(_columns(1500, 2000, 2))
        m = pool.mirror
        assert m.frozen == 1500 and m.n == 3500
        seqs = m.seq[: m.n].copy()
        for i in range(1500, 3000):  # 3/4 of the tail dead: compacted; one mapped row dead: stays
            pool.forget(f"syn{i:08d}")
        pool.forget("syn00000010")
        assert m.frozen == 1500 and not m.alive[10] and m.n < 2500  # compacted at least twice
        np.testing.assert_array_equal(m.seq[:1500], seqs[:1500])
        np.testing.assert_array_equal(m.seq[: m.n][m.alive[: m.n]][-500:], seqs[3000:])
        got = _recalls(pool)
        del pool._append_copy
    finally:
        pool.close()
    database = _open(path, vector_copy=False)
    try:
        assert _recalls(database) == got
    finally:
        database.close()


def test_vector_column_reads_across_the_mapped_prefix_exactly() -> None:
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((50, 8)).astype(np.float32)
    column = VectorColumn(8)
    column.put(0, rows[:30], 0)
    column.rebase(rows[:20].copy(), 30)  # slots 0-19 "mapped", 20-29 in the tail
    column.put(30, rows[30:], 30)
    vector = rng.standard_normal(8).astype(np.float32)
    np.testing.assert_array_equal(column[0:50], rows)
    np.testing.assert_array_equal(column[np.array([3, 25, 19, 20, 49])], rows[[3, 25, 19, 20, 49]])
    np.testing.assert_array_equal(column[21], rows[21])
    np.testing.assert_allclose(column.dot(slice(0, 50), vector), rows @ vector, rtol=1e-6)
    column.compact_tail(np.array([22, 40, 41]))
    np.testing.assert_array_equal(column[20:23], rows[[22, 40, 41]])
