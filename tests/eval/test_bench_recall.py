"""The recall benchmark (seer-mcp bench recall): the reference port, recall@k, the workload, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from seer.eval.bench.metrics import latency, mean_recall_at_k, recall_at_k
from seer.eval.bench.recall import candidate_factor, exact_scan, synthetic_columns, timed_recalls
from seer.eval.bench.reference import ReferenceSelection
from seer.eval.bench.workload import bases_from, load_probes, process_request, split, trajectory
from seer.pool import AnnSettings, ExperiencePool, HashEmbedder, RecallRequest, Step, render_steps


def test_recall_at_k_counts_the_exact_answer_kept() -> None:
    assert recall_at_k(["a", "b", "c", "d"], ["d", "c", "b", "a"], 4) == 1.0  # order does not matter
    assert recall_at_k(["a", "x", "y", "z"], ["a", "b", "c", "d"], 4) == 0.25
    assert recall_at_k(["a", "b"], ["a", "b", "c", "d"], 2) == 1.0  # only the top-k of each count
    assert recall_at_k(["a", "b", "c"], ["a", "b"], 4) == 1.0  # fewer than k exist: share of those
    assert recall_at_k([], [], 4) == 1.0
    assert mean_recall_at_k([["a"], ["x"]], [["a"], ["b"]], 1) == 0.5
    with pytest.raises(ValueError):
        mean_recall_at_k([["a"]], [], 1)
    assert latency([1.0, 2.0, 3.0]) == {"p50": 2.0, "p99": 2.98}


def _pool_and_port(tmp_path: Path, n: int, threshold: int) -> tuple[ExperiencePool, ReferenceSelection, dict]:
    embedder = HashEmbedder()
    pool = ExperiencePool.create(tmp_path / "p.duckdb", embedder, intent_labels=None, ann_threshold=threshold,
                                 ann=AnnSettings(threads=1))  # one graph every run: exact comparisons hold
    cols = synthetic_columns(np.random.default_rng(3), 0, n, 384)
    pool.bulk_insert(cols)
    port = ReferenceSelection(embed=lambda texts: embedder.embed(texts))
    for i in range(n):
        port.add({"id": str(cols["id"][i]), "class": str(cols["intent"][i]), "question": str(cols["task"][i]),
                  "steps": [f"Step 1: row {cols['id'][i]}"], "tools": json.loads(cols["tool_chain"][i])},
                 question_vector=cols["query_embedding"][i], steps_vector=cols["trajectory_embedding"][i])
    return pool, port, cols


def test_port_ranks_like_our_exact_recall_where_the_terms_agree(tmp_path: Path) -> None:
    """The reference's s1 is cos, ours (1 + cos)/2: with λ1 = 2 our score is the port's plus 1, so the
    top-k agree, for a mid-task step (tools called once each) and for step 1."""
    pool, port, _ = _pool_and_port(tmp_path, 600, threshold=10**9)
    try:
        steps = [Step(thought="Load the flights.", tool="LoadDB", arguments={"target_db": "flight"}),
                 Step(thought="Filter.", tool="FilterDB", arguments={"condition": "Origin=ATL"})]
        mid = RecallRequest(task="How late was DL1575?", steps_so_far=steps, intent="flight", k=8,
                            lambdas=(2.0, 1.0, 1.0))
        ours = pool.recall(mid)
        lines = render_steps(steps).split("\n")  # the reference's steps list, joined to the same text
        chosen = port.select_process_oriented(8, lines, ["LoadDB", "FilterDB"], "flight")
        assert {r.id for r in ours} == {r["id"] for r in chosen}
        scores = port.process_scores(lines, ["LoadDB", "FilterDB"], "flight")
        by_id = {r["id"]: float(s) for r, s in zip(port.data, scores, strict=True)}
        for r in ours:
            assert r.score == pytest.approx(by_id[r.id] + 1.0, abs=1e-5)

        first = RecallRequest(task="How late was DL1575?", intent="flight", k=8, lambdas=(2.0, 1.0, 1.0))
        chosen = port.select_goal_oriented(8, first.task, [], "flight")
        assert {r.id for r in pool.recall(first)} == {r["id"] for r in chosen}
    finally:
        pool.close()


def test_port_keeps_the_reference_quirks() -> None:
    """s2's denominator counts repeated and failed ("None") calls; the chosen records are shuffled."""
    port = ReferenceSelection(embed=lambda texts: HashEmbedder().embed(texts))
    for i in range(6):
        port.add({"id": f"r{i}", "class": "flight", "question": f"q{i}", "steps": [f"s{i}"],
                  "tools": ["LoadDB", "GetValue"]})
    scores = port.process_scores(["Step 1: x"], ["GetValue", "GetValue", "None"], "coffee")
    cos = port.vector("Step 1: x") @ port.vector("s0")
    assert scores[0] == pytest.approx(cos + 1 / 3)  # ours: sets of successful calls, so s2 = 1
    orders = {tuple(r["id"] for r in port.select_process_oriented(6, ["Step 1: x"], [], "flight"))
              for _ in range(8)}
    assert len(orders) > 1


def test_ann_recall_is_measured_against_the_exact_answer(tmp_path: Path) -> None:
    pool, _, _ = _pool_and_port(tmp_path, 1500, threshold=200)
    try:
        assert pool.ann is not None
        probes = [Step(tool="LoadDB", arguments={"target_db": f"t{i}"}) for i in range(12)]
        reqs = [RecallRequest(task=f"task {i}", steps_so_far=[s], intent="flight", k=4)
                for i, s in enumerate(probes)]
        with exact_scan(pool):
            _, exact = timed_recalls(pool, reqs)
        assert pool.ann_threshold == 200
        with candidate_factor(pool, 10_000):  # every row a candidate: the approximate answer is the exact one
            _, wide = timed_recalls(pool, reqs)
        assert pool.ann_settings.candidate_factor != 10_000
        assert mean_recall_at_k(wide, exact, 4) == 1.0
        _, shipped = timed_recalls(pool, reqs)
        assert 0.0 <= mean_recall_at_k(shipped, exact, 4) <= 1.0
    finally:
        pool.close()


def _questions(root: Path) -> Path:
    folder = root / "questions" / "easy"
    folder.mkdir(parents=True)
    coffee = [f"What was the opening price of coffee on 20{10 + i % 9}-0{1 + i % 8}-1{i % 10}?"
              for i in range(24)]
    flight = [f"What was the departure time of the DL{100 + i} flight from ATL to MCO on 2022-01-{10 + i}?"
              for i in range(24)]
    for name, texts in (("coffee", coffee), ("flight", flight)):
        lines = [json.dumps({"qid": f"easy-{name}-{i:04d}", "question": q, "answer": str(i)})
                 for i, q in enumerate(texts)]
        (folder / f"{name}-easy.jsonl").write_text("\n".join(lines) + "\n")
    return root / "questions"


def test_workload_holds_queries_out_of_the_pool(tmp_path: Path) -> None:
    probes = load_probes(_questions(tmp_path))
    parts = split(probes, queries=10, cold=5, records=5, mcp=5)
    sets = [parts.bases, parts.queries, parts.cold, parts.records, parts.mcp]
    ids = [p.qid for s in sets for p in s]
    assert len(ids) == len(set(ids)) == 48 and len(parts.bases) >= 24
    flight = next(p for p in probes if p.intent == "flight")
    steps = trajectory("flight", flight.question, "12:00")
    assert steps[-1].tool == "Finish" and "DL" in render_steps(steps)
    req = process_request(parts.queries[0])
    assert req.steps_so_far and all(s.tool != "Finish" for s in req.steps_so_far)
    bases = bases_from(parts.bases, HashEmbedder())
    assert bases.neighbours.shape[0] == len(parts.bases)
    same = np.array([[bases.probes[j].intent == p.intent for j in row]
                     for p, row in zip(bases.probes, bases.neighbours, strict=True)])
    assert same.all()  # a row mixes questions of one intent


@pytest.mark.timeout(600)
def test_bench_recall_command_small(tmp_path: Path) -> None:
    from seer.eval.bench.cli import bench

    args = ["recall", "--sizes", "150", "--scan-only-sizes", "300", "--repeats", "3", "--embedder", "hash",
            "--embed-threads", "1", "--questions", str(_questions(tmp_path)),
            "--workdir", str(tmp_path / "w")]
    out = CliRunner().invoke(bench, [*args, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    (row,) = result["sizes"]
    assert row["n"] == 150 and row["recall_at_k"] == 1.0 and not row["ann"]  # exact below the threshold
    flat = ("p50_ms", "p99_ms", "reference_p50_ms", "insert_per_s", "bytes_per_experience", "mcp_http_p50_ms")
    for key in flat:
        assert row[key] is not None and row[key] > 0, key  # the flat summary a script reads
    assert row["reference"]["p50"] > 0 and row["numpy"]["p50"] > 0
    assert row["record_cold"]["stored"] + row["record_warm"]["stored"] > 0
    assert row["mcp"]["queries"] == 3 and row["mcp"]["records"] >= 1
    assert result["scan_only"][0]["n"] == 300 and result["scan_only"][0]["exact_scan"]["p50"] > 0
    assert not list((tmp_path / "w").glob("*.duckdb"))  # pools are deleted after their size
    shown = CliRunner().invoke(bench, [*args, "--no-mcp", "--markdown"])
    assert shown.exit_code == 0, shown.output
    assert "| n | path |" in shown.output and "Where a recall's time goes" in shown.output
