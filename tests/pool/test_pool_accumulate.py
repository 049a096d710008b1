"""Algorithm 2 hygiene: success only, error steps dropped, dedup, capacity, eviction, credit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seer.pool import Capacity, ExperiencePool, HashEmbedder, RecallRequest, RecordRequest, Step
from tests.pool.conftest import steps_for


def test_only_successes_stored_and_error_steps_dropped(pool: ExperiencePool) -> None:
    steps = [
        Step(tool="LoadDB", arguments={"target_db": "flight"}, observation="loaded"),
        Step(tool="FilterDB", arguments={"condition": "bad"}, observation="Error", ok=False),
        Step(tool="Finish", arguments={"answer": "3"}),
    ]
    failed = pool.record(RecordRequest(task="t", steps=steps, success=False, intent="flight"))
    assert not failed.stored and pool.count() == 0
    out = pool.record(RecordRequest(task="t", steps=steps, success=True, intent="flight", judge="exact"))
    assert out.stored and out.id
    exp = pool.get(out.id)
    assert exp is not None and exp.tool_chain == ["LoadDB", "Finish"] and "FilterDB" not in exp.demo_text


def test_dedup_merges_near_identical(pool: ExperiencePool, record) -> None:  # type: ignore[no-untyped-def]
    first = record(pool, "What is the price of coffee on 2011-05-18?", "coffee", ["SQLInterpreter", "Finish"])
    dup = pool.record(
        RecordRequest(
            task="what is the PRICE of coffee on 2011 05 18",
            success=True,
            intent="coffee",
            steps=[
                Step(tool="SQLInterpreter", arguments={"query": "x"}),
                Step(tool="Finish", arguments={"answer": "1"}),
            ],
        )
    )
    assert not dup.stored and dup.merged_into == first
    other_chain = record(
        pool,
        "What is the price of coffee on 2011-05-18?",
        "coffee",
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
    )
    assert other_chain is not None and pool.count() == 2


def test_capacity_evicts_least_useful_then_oldest(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    pool = ExperiencePool.open(
        tmp_path / "cap.duckdb", HashEmbedder(), intent_labels=None, capacity=Capacity(per_intent=3, total=5)
    )
    try:
        ids = [
            record(pool, f"flight question number {w}", "flight", ["LoadDB", "Finish"])
            for w in ("alpha", "bravo", "charlie")
        ]
        # a later success that used ids[0] makes it useful
        record(pool, "gsm question one", "gsm8k", ["Calculate", "Finish"], recalled_ids=[ids[0]])
        newest = record(pool, "flight question number delta", "flight", ["LoadDB", "Finish"])
        assert pool.get(ids[1]) is None  # least useful and oldest
        assert pool.get(ids[0]) is not None and pool.get(newest) is not None
        assert pool.get(ids[0]).times_in_success == 1  # type: ignore[union-attr]
        for w in ("echo", "foxtrot"):
            record(pool, f"gsm question {w}", "gsm8k", ["Calculate", "Finish"])
        assert pool.count() == 5
        assert pool.stats()["per_intent"]["flight"] <= 3
    finally:
        pool.close()


def test_a_record_evicts_a_bounded_number_and_prune_the_rest(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """A pool opened with limits far below its size shrinks by at most max_evict_per_write per record."""
    from seer.eval.bench.recall import synthetic_columns

    path = tmp_path / "big.duckdb"
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None)
    pool.bulk_insert(synthetic_columns(np.random.default_rng(0), 0, 300, 384))
    pool.close()
    small = Capacity(per_intent=1_000, total=100, max_evict_per_write=4)
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None, capacity=small)
    try:
        out = pool.record(RecordRequest(task="flight question zulu", intent="flight", success=True,
                                        judge="exact", steps=[Step(tool="LoadDB", arguments={"db": "f"})]))
        assert out.stored and "evicted 4 least useful" in out.reason
        assert pool.count() == 300 + 1 - 4
        assert pool.prune()["count"] == 100  # the explicit prune applies the limits in full
    finally:
        pool.close()


def test_default_capacity_fits_a_million() -> None:
    assert Capacity().total >= 1_000_000 and Capacity().max_evict_per_write <= 64


def test_forget_and_prune(pool: ExperiencePool, record) -> None:  # type: ignore[no-untyped-def]
    a = record(pool, "coffee price on monday", "coffee", ["SQLInterpreter", "Finish"])
    assert pool.forget(a) and not pool.forget(a)
    assert pool.recall(RecallRequest(task="coffee", intent="coffee")) == []
    from seer.pool import Experience

    twins = [
        Experience(
            id=f"x{i}",
            task="Same task?",
            intent="coffee",
            steps=[Step(tool="Finish")],
            tool_chain=["Finish"],
            demo_text="d",
            times_recalled=i + 1,
        )
        for i in range(2)
    ]
    pool.add_experiences(twins)
    assert pool.count() == 2
    result = pool.prune()
    assert result["merged"] == 1 and pool.count() == 1
    kept = pool.get("x0")
    assert kept is not None and kept.times_recalled == 3


def test_same_normalised_task_is_a_duplicate_without_a_table_scan(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """With a cosine no pair reaches, only the normalised task text makes a duplicate: the mirror's task
    hashes decide it, for rows recorded now and rows loaded from the file alike."""
    path = tmp_path / "text.duckdb"
    strict = Capacity(dedup_cosine=1.01)
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None, capacity=strict)
    try:
        first = record(pool, "How late was flight AA1?", "flight", ["LoadDB", "Finish"])
        assert record(pool, "how late was flight aa1", "flight", ["LoadDB", "Finish"]) is None
        assert record(pool, "how late was flight AA2", "flight", ["LoadDB", "Finish"]) is not None
    finally:
        pool.close()
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None, capacity=strict)
    try:
        out = pool.record(RecordRequest(task="HOW LATE WAS FLIGHT AA1 ?", intent="flight", success=True,
                                        judge="exact", steps=steps_for(["LoadDB", "Finish"], "again")))
        assert not out.stored and out.merged_into == first
    finally:
        pool.close()


def test_a_large_template_dedups_through_the_ann_and_the_task_hashes(
    tmp_path: Path, record, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """Above NEAR_SCAN_MAX peers, a near-duplicate is found among the ANN's neighbours and the same task
    among all peers by hash; with no neighbours offered, only the hash can merge (the path is the ANN's)."""
    from seer.pool import accumulate, recording

    monkeypatch.setattr(accumulate, "NEAR_SCAN_MAX", 2)
    pool = ExperiencePool.open(tmp_path / "near.duckdb", HashEmbedder(), intent_labels=None, ann_threshold=1,
                               capacity=Capacity(dedup_cosine=0.6))
    chain = ["LoadDB", "FilterDB", "Finish"]
    try:
        words = ("alpha", "bravo", "charlie", "delta")
        ids = [record(pool, f"flight {w} question {w} late arrival", "flight", chain) for w in words]
        assert all(ids) and pool.ann is not None and len(pool.ann) == 4
        near = pool.record(RecordRequest(task="flight bravo question bravo late arrival today",
                                         intent="flight", success=True, judge="exact",
                                         steps=steps_for(chain, "near")))
        assert not near.stored and near.merged_into == ids[1]

        monkeypatch.setattr(recording.Recording, "_near_slots",
                            lambda self: lambda exp, qvec: np.zeros(0, np.int64))
        again = pool.record(RecordRequest(task="flight charlie question charlie late arrival today",
                                          intent="flight", success=True, judge="exact",
                                          steps=steps_for(chain, "again")))
        assert again.stored  # its near twin was not among the (no) neighbours offered
        same = pool.record(RecordRequest(task="FLIGHT DELTA question delta late arrival", intent="flight",
                                         success=True, judge="exact", steps=steps_for(chain, "same")))
        assert not same.stored and same.merged_into == ids[3]
    finally:
        pool.close()
