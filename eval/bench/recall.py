"""Recall benchmark: synthetic pools of growing size; latency of one stepwise recall vs the reference scheme.

The reference scheme (official SEER code) loops over every stored record in Python, computes the cosine
with numpy per record plus s2/s3, and sorts the full list. We re-implement it faithfully for comparison.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, RecordRequest, Step
from seer.pool.intent import TOOLQA_INTENTS
from seer.pool.render import render_steps, template_key

INTENTS = tuple(TOOLQA_INTENTS)
CHAINS: dict[str, list[list[str]]] = {
    "flight": [
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
        ["LoadDB", "FilterDB", "GetValue", "GetValue", "Calculate", "Finish"],
    ],
    "coffee": [["SQLInterpreter", "Finish"], ["LoadDB", "FilterDB", "GetValue", "Calculate", "Finish"]],
    "yelp": [["LoadDB", "FilterDB", "GetValue", "Finish"], ["SQLInterpreter", "Finish"]],
    "airbnb": [
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
        ["SQLInterpreter", "PythonInterpreter", "Finish"],
    ],
    "dblp": [
        ["LoadGraph", "NodeCheck", "Finish"],
        ["LoadGraph", "NeighbourCheck", "Finish"],
        ["LoadGraph", "EdgeCheck", "NodeCheck", "Finish"],
    ],
    "scirex": [["RetrieveScirex", "Finish"]],
    "agenda": [["RetrieveAgenda", "Finish"], ["RetrieveAgenda", "Calculate", "Finish"]],
    "gsm8k": [["PythonInterpreter", "Finish"], ["Calculate", "Finish"]],
}
MeasureMcp = Callable[[Path, int], float]


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = rng.standard_normal((n, dim), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def synthetic_columns(rng: np.random.Generator, start: int, n: int, dim: int) -> dict[str, Any]:
    """n synthetic experiences as numpy columns for `ExperiencePool.bulk_insert`."""
    intent_idx = rng.integers(0, len(INTENTS), n)
    intents = np.array(INTENTS, dtype=object)[intent_idx]
    chains, templates, demos = [], [], []
    for i, intent in enumerate(intents):
        options = CHAINS[intent]
        chain = options[(start + i) % len(options)]
        chains.append('["' + '","'.join(chain) + '"]')
        templates.append(template_key(intent, chain))
        demos.append(
            f"Question: synthetic {intent} question {start + i}\n"
            + "\n".join(
                f"Step {j}: use {t}. <CALL_BEGIN>{t}[arg {start + i}]<CALL_END>\nResult {j}: value {j}"
                for j, t in enumerate(chain, 1)
            )
        )
    ids = np.array([f"syn{start + i:08d}" for i in range(n)], dtype=object)
    tasks = np.array(
        [f"synthetic {intent} question {start + i}" for i, intent in enumerate(intents)], dtype=object
    )
    now = np.datetime64("2025-01-01T00:00:00", "us") + np.arange(start, start + n).astype("timedelta64[s]")
    obj = np.array
    return {
        "id": ids,
        "task": tasks,
        "intent": intents,
        "intent_source": obj(["gold"] * n, dtype=object),
        "steps": obj(["[]"] * n, dtype=object),
        "tool_chain": obj(chains, dtype=object),
        "template": obj(templates, dtype=object),
        "norm_task": tasks,
        "demo_text": obj(demos, dtype=object),
        "tokens": np.array([len(d) // 4 for d in demos], np.int64),
        "query_embedding": _unit(rng, n, dim),
        "trajectory_embedding": _unit(rng, n, dim),
        "judge_kind": obj(["synthetic"] * n, dtype=object),
        "judge_verdict": obj([""] * n, dtype=object),
        "model": obj([None] * n, dtype=object),
        "embedder_id": obj(["hash-384"] * n, dtype=object),
        "source_task_id": ids,
        "final_answer": obj(["0"] * n, dtype=object),
        "created_at": now,
        "times_recalled": np.zeros(n, np.int64),
        "times_in_success": np.zeros(n, np.int64),
    }


def reference_recall(
    records: list[dict[str, Any]], e_h: np.ndarray, tools_h: list[str], intent: str, k: int = 4
) -> list[dict[str, Any]]:
    """The reference scheme: per-record Python loop, numpy cosine per record, s2 with the reference's
    list-count denominator, s3, full sort."""
    scored = []
    for rec in records:
        e = rec["emb"]
        cos = float(np.dot(e_h, e) / (np.linalg.norm(e_h) * np.linalg.norm(e)))
        s1 = (1 + cos) / 2
        s2 = sum(1 for t in tools_h if t in rec["tools"]) / len(tools_h) if tools_h else 0.0
        s3 = 1.0 if rec["intent"] == intent else 0.0
        scored.append((s1 + s2 + s3, rec))
    scored.sort(key=lambda x: x[0], reverse=True)
    return [r for _, r in scored[:k]]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _steps(i: int) -> list[Step]:
    return [
        Step(
            thought=f"load the flight table for query {i}",
            tool="LoadDB",
            arguments={"target_db": "flight"},
            observation="loaded",
        ),
        Step(thought="filter", tool="FilterDB", arguments={"condition": f"Flight_Number={i}"}),
    ]


def bench_size(
    n: int,
    *,
    workdir: Path,
    repeats: int = 200,
    record_sample: int = 200,
    chunk: int = 100_000,
    reference_max: int = 100_000,
    measure_mcp: MeasureMcp | None = None,
    progress: Callable[[str], None] = lambda _: None,
    seed: int = 0,
) -> dict[str, Any]:
    """Build an n-experience pool and measure it; returns one row of the report."""
    rng = np.random.default_rng(seed)
    path = workdir / f"bench-{n}.duckdb"
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".ann"), ignore_errors=True)
    embedder = HashEmbedder(384)
    row: dict[str, Any] = {"n": n}
    pool = ExperiencePool.create(path, embedder, intent_labels=None)
    insert_s = 0.0
    ann_s = 0.0
    sample_vecs: list[np.ndarray] = []
    ref_records: list[dict[str, Any]] = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        cols = synthetic_columns(rng, start, m, 384)
        if n <= reference_max:
            tools = [c for c in cols["tool_chain"]]
            for i in range(m):
                ref_records.append(
                    {
                        "emb": cols["trajectory_embedding"][i],
                        "intent": cols["intent"][i],
                        "tools": tools[i],
                        "id": cols["id"][i],
                    }
                )
        t0 = time.perf_counter()
        had_ann = pool.ann is not None
        pool.bulk_insert(cols)
        took = time.perf_counter() - t0
        if pool.ann is not None and not had_ann:
            ann_s += took  # this chunk also built the index
        insert_s += took
        sample_vecs.append(cols["trajectory_embedding"][:1])
        progress(f"n={n}: inserted {start + m:,}")
        del cols
    row["insert_per_s"] = round(n / insert_s, 1)
    # per-record transactional path (embedding, dedup check, one transaction each), on a side pool
    side = ExperiencePool.create(workdir / f"bench-{n}-record.duckdb", embedder, intent_labels=None)
    t0 = time.perf_counter()
    for i in range(record_sample):
        side.record(
            RecordRequest(
                task=f"how late was flight {i} on day {i % 28}",
                steps=_steps(i),
                success=True,
                intent=INTENTS[i % 8],
                final_answer=str(i),
                judge="exact",
            )
        )
    row["record_per_s"] = round(record_sample / (time.perf_counter() - t0), 1)
    side.close()
    progress(f"n={n}: measuring recall")
    times = []
    for i in range(repeats + 10):
        req = RecallRequest(task=f"How late was flight {i}?", steps_so_far=_steps(i), intent="flight", k=4)
        t0 = time.perf_counter()
        out = pool.recall(req)
        if i >= 10:
            times.append((time.perf_counter() - t0) * 1000)
        assert len(out) == 4
    row["p50_ms"] = round(statistics.median(times), 3)
    row["p99_ms"] = round(_percentile(times, 99), 3)
    row["ann"] = pool.ann is not None
    row["reference_p50_ms"] = None
    if ref_records:
        progress(f"n={n}: reference scheme")
        ref_times = []
        reps = max(3, min(50, 2_000_000 // max(n, 1)))
        for i in range(reps):
            e_h = embedder.embed([render_steps(_steps(i))])[0]
            t0 = time.perf_counter()
            reference_recall(ref_records, e_h, ["LoadDB", "FilterDB"], "flight")
            ref_times.append((time.perf_counter() - t0) * 1000)
        row["reference_p50_ms"] = round(statistics.median(ref_times), 2)
        row["speedup"] = round(row["reference_p50_ms"] / row["p50_ms"], 1)
    del ref_records
    pool.flush()
    pool.store.checkpoint()
    pool.close()
    del pool
    gc.collect()
    row["bytes_per_experience"] = round(path.stat().st_size / n, 1)
    if row["ann"]:
        progress(f"n={n}: reopen (persisted ANN vs rebuild)")
        t0 = time.perf_counter()
        reopened = ExperiencePool.open(path, embedder, intent_labels=None)
        row["open_persisted_ann_s"] = round(time.perf_counter() - t0, 2)
        reopened.persist_ann = False
        reopened.close()
        del reopened
        gc.collect()
        t0 = time.perf_counter()
        rebuilt = ExperiencePool.open(path, embedder, intent_labels=None, persist_ann=False)
        row["open_rebuild_ann_s"] = round(time.perf_counter() - t0, 2)
        rebuilt.close()
        del rebuilt
        gc.collect()
    row["mcp_http_p50_ms"] = measure_mcp(path, n) if measure_mcp is not None else None
    return row


def run(
    sizes: list[int],
    *,
    workdir: Path | None = None,
    measure_mcp: MeasureMcp | None = None,
    progress: Callable[[str], None] = lambda _: None,
    repeats: int = 200,
) -> dict[str, Any]:
    """Benchmark every size; returns {"sizes": [row, ...]}."""
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="seer-bench-")
        workdir = Path(tmp.name)
    try:
        rows = []
        for n in sizes:
            rows.append(
                bench_size(n, workdir=workdir, measure_mcp=measure_mcp, progress=progress, repeats=repeats)
            )
            gc.collect()
        return {"sizes": rows}
    finally:
        if tmp is not None:
            tmp.cleanup()
