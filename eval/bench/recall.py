"""Recall benchmark: pools of growing size, measured the way they are used.

For each size n a pool is grown around real ToolQA questions (`workload`), then, with held-out real
questions as queries (k = 4, hybrid, a mid-task step: the steps so far against stored trajectories):

- the shipped path (`ExperiencePool.recall`, an ANN index above `ANN_THRESHOLD`) with its recall@4
  against the exact answer beside it; the exact path (ANN off); a candidate-factor sweep of the ANN path
  with recall@4 for mid-task, step-1 and random-vector queries;
- where the time goes: the query embedding (uncached, `torch` threads as set), the scan, the fetch of
  the chosen rows' texts, and a recall whose text the pool has never seen;
- the physical limit: numpy's brute-force f32 scan (one matrix-vector product + top-k);
- the baseline: a port of the official selection code (`reference`), on the same data;
- writes at size n (`record` with and without the embedding), opening the file (persisted ANN index or
  rebuilt; time and peak RSS in a fresh process), bytes per experience;
- over MCP (optional): recall with the real embedder on distinct questions, and records.

Sizes listed as scan-only are measured without DuckDB or ANN (the in-memory mirror only): the pool's
exact scoring and numpy's scan, for sizes whose full pool would not fit the machine.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from seer.eval.bench.measures import (
    candidate_factor,
    embedding_latency,
    exact_scan,
    memory_refusal,
    numpy_scan,
    open_probe,
    peak_rss_mb,
    recall_once,
    records,
    reference_scan,
    rss_mb,
    timed_recalls,
)
from seer.eval.bench.metrics import latency, mean_recall_at_k
from seer.eval.bench.procmem import rss_parts_mb
from seer.eval.bench.reference import ReferenceSelection
from seer.eval.bench.workload import (
    CHAINS,
    INTENTS,
    Bases,
    PresetEmbedder,
    Probe,
    Split,
    goal_request,
    process_request,
    query_text,
    real_columns,
    reference_steps,
)
from seer.pool import ExperiencePool, RecallRequest, Step, render_steps
from seer.pool.embedders import Embedder
from seer.pool.render import template_key

__all__ = ["CHAINS", "INTENTS", "BenchConfig", "bench_size", "candidate_factor", "exact_scan", "run",
           "scan_only", "synthetic_columns", "timed_recalls"]

MeasureMcp = Callable[[Path, Sequence[Probe]], dict[str, Any]]
Progress = Callable[[str], None]
FACTORS = (25, 50, 100, 200, 400)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = rng.standard_normal((n, dim), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def synthetic_columns(
    rng: np.random.Generator, start: int, n: int, dim: int, embedder_id: str = "hash-384"
) -> dict[str, Any]:
    """n experiences with uniform random unit vectors (the worst case for an ANN index) as numpy columns
    for `ExperiencePool.bulk_insert`."""
    intents = np.array(INTENTS, dtype=object)[rng.integers(0, len(INTENTS), n)]
    chains, templates, demos = [], [], []
    for i, intent in enumerate(intents):
        options = CHAINS[intent]
        chain = options[(start + i) % len(options)]
        chains.append(json.dumps(chain))
        templates.append(template_key(intent, chain))
        demos.append(
            f"Question: synthetic {intent} question {start + i}\n"
            + "\n".join(
                f"Step {j}: use {t}. <CALL_BEGIN>{t}[arg {start + i}]<CALL_END>\nResult {j}: value {j}"
                for j, t in enumerate(chain, 1)
            )
        )
    ids = np.array([f"syn{start + i:08d}" for i in range(n)], dtype=object)
    tasks = np.array([f"synthetic {intent} question {start + i}" for i, intent in enumerate(intents)],
                     dtype=object)
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
        "embedder_id": obj([embedder_id] * n, dtype=object),
        "source_task_id": ids,
        "final_answer": obj(["0"] * n, dtype=object),
        "created_at": np.datetime64("2025-01-01T00:00:00", "us")
        + np.arange(start, start + n).astype("timedelta64[s]"),
        "times_recalled": np.zeros(n, np.int64),
        "times_in_success": np.zeros(n, np.int64),
    }


class BenchConfig:
    """What one run measures (sizes apart)."""

    def __init__(
        self,
        *,
        vectors: str = "real",
        factors: Sequence[int] = FACTORS,
        k: int = 4,
        reference_max: int = 100_000,
        reference_budget: int = 2_000_000,
        chunk: int = 100_000,
        seed: int = 0,
        rebuild_open_max: int = 200_000,
    ) -> None:
        if vectors not in ("real", "random"):
            raise ValueError("vectors must be 'real' or 'random'")
        self.vectors = vectors
        self.factors = tuple(factors)
        self.k = k
        self.reference_max = reference_max  # the port is timed up to this size
        self.reference_budget = reference_budget  # port queries at size n: max(3, budget // n)
        self.chunk = chunk
        self.seed = seed
        self.rebuild_open_max = rebuild_open_max  # "open with the ANN rebuilt" is timed up to this size


# ------------------------------------------------------------------ building
def _columns(cfg: BenchConfig, rng: np.random.Generator, start: int, m: int, bases: Bases | None,
             embedder: Embedder) -> dict[str, Any]:
    if cfg.vectors == "real":
        assert bases is not None
        return real_columns(rng, start, m, bases, embedder.id)
    return synthetic_columns(rng, start, m, embedder.dim, embedder.id)


def _reference_add(ref: ReferenceSelection, cols: dict[str, Any], probes: dict[str, Probe]) -> None:
    """The rows as the reference library holds them (dicts; embeddings cached by steps text)."""
    for i in range(len(cols["id"])):
        ident = str(cols["id"][i])
        base = probes.get(str(cols["task"][i]))
        if base is not None:
            steps = reference_steps(base, tag=ident)
            tools = base.tools
        else:
            steps = [line for line in str(cols["demo_text"][i]).split("\n") if line.startswith("Step")]
            tools = json.loads(cols["tool_chain"][i])
        ref.add({"id": ident, "class": str(cols["intent"][i]), "question": str(cols["task"][i]),
                 "steps": steps, "tools": tools},
                question_vector=cols["query_embedding"][i].copy(),
                steps_vector=cols["trajectory_embedding"][i].copy())


def build(n: int, path: Path, embedder: Embedder, bases: Bases | None, cfg: BenchConfig,
          progress: Progress) -> tuple[ExperiencePool, np.ndarray, ReferenceSelection | None, float]:
    """Create the n-experience pool at ``path`` (shipped defaults); returns the pool, its trajectory matrix
    (for numpy's scan: the pool's memory-mapped copy, not a second matrix in memory), the reference library
    (n ≤ reference_max) and the bulk insert time (s, the ANN build included once n crosses the
    threshold)."""
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    for folder in (".ann", ".vectors"):  # the persisted index and vector copy of an earlier run
        shutil.rmtree(path.with_name(path.name + folder), ignore_errors=True)
    rng = np.random.default_rng(cfg.seed)
    pool = ExperiencePool.create(path, embedder, intent_labels=None)
    ref = ReferenceSelection() if n <= cfg.reference_max else None
    by_task = {p.question: p for p in bases.probes} if bases is not None else {}
    insert_s = 0.0
    for start in range(0, n, cfg.chunk):
        m = min(cfg.chunk, n - start)
        cols = _columns(cfg, rng, start, m, bases, embedder)
        if ref is not None:
            _reference_add(ref, cols, by_task)
        t0 = time.perf_counter()
        pool.bulk_insert(cols)
        insert_s += time.perf_counter() - t0
        progress(f"n={n:,}: inserted {start + m:,}")
        del cols
    matrix = pool.mirror.vec["trajectory"][0: pool.mirror.n]
    return pool, matrix, ref, insert_s


def _random_presets(
    probes: Sequence[Probe], dim: int, seed: int
) -> tuple[list[RecallRequest], dict[str, Any]]:
    """Mid-task requests whose history text maps to a uniform random vector (the old benchmark's queries)."""
    rng = np.random.default_rng(seed + 1)
    requests, presets = [], {}
    for i, p in enumerate(probes):
        first, *rest = p.history
        marked = [Step(thought=f"random query {i}", tool=first.tool, arguments=first.arguments), *rest]
        req = RecallRequest(task=p.question, steps_so_far=marked, intent=p.intent, strategy="hybrid")
        presets[query_text(req)] = _unit(rng, 1, dim)[0]
        requests.append(req)
    return requests, presets


def _timed_paths(pool: ExperiencePool, matrix: np.ndarray, process: Sequence[RecallRequest],
                 vectors: np.ndarray, factors: Sequence[int], k: int
                 ) -> tuple[dict[str, list[float]], dict[str, list[list[str]]]]:
    """Each query through numpy's scan, the exact path, the shipped path and each candidate factor: times
    (ms) and ids per path. Paths are timed query by query, round-robin, so a shift in the machine's load
    hits them alike; the order is shuffled for each query (seeded), so no path always runs right after a
    scan that evicts the caches."""
    t: dict[str, list[float]] = {"numpy": [], "exact": [], "exact_warm": [], "fetch": [], "default": []}
    got: dict[str, list[list[str]]] = {"exact": [], "default": []}
    for f in factors:
        t[f"f{f}"], got[f"f{f}"] = [], []

    def run_numpy(req: RecallRequest, vec: np.ndarray) -> None:
        t["numpy"] += numpy_scan(matrix, vec[None, :], k)

    def run_exact(req: RecallRequest, vec: np.ndarray) -> None:
        with exact_scan(pool):
            cold_ms, ids = recall_once(pool, req, cold=True)
            warm_ms, _ = recall_once(pool, req, cold=False)  # the same again: the rows' texts in memory
        t["exact"].append(cold_ms)
        t["exact_warm"].append(warm_ms)
        t["fetch"].append(cold_ms - warm_ms)
        got["exact"].append(ids)

    def run_ann(key: str, factor: int | None) -> Callable[[RecallRequest, np.ndarray], None]:
        def run(req: RecallRequest, vec: np.ndarray) -> None:
            with candidate_factor(pool, factor) if factor else nullcontext():
                ms, ids = recall_once(pool, req, cold=True)
            t[key].append(ms)
            got[key].append(ids)
        return run

    paths = [run_numpy, run_exact, run_ann("default", None), *(run_ann(f"f{f}", f) for f in factors)]
    order = np.random.default_rng(0)
    for req, vec in zip(process, vectors, strict=True):
        for i in order.permutation(len(paths)):
            paths[i](req, vec)
    return t, got


def bench_size(
    n: int,
    *,
    workdir: Path,
    embedder: Embedder,
    split: Split,
    bases: Bases | None,
    cfg: BenchConfig,
    measure_mcp: MeasureMcp | None = None,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Build an n-experience pool and measure it; returns one row of the report."""
    k = cfg.k
    random_reqs, presets = _random_presets(split.queries, embedder.dim, cfg.seed)
    path = workdir / f"bench-{cfg.vectors}-{n}.duckdb"
    pool, matrix, ref, insert_s = build(n, path, PresetEmbedder(embedder, presets), bases, cfg, progress)
    row: dict[str, Any] = {"n": n, "vectors": cfg.vectors, "insert_per_s": round(n / insert_s, 1),
                           "build_s": round(insert_s, 1), "rss_after_build_mb": rss_mb(),
                           "rss_after_build": rss_parts_mb(),
                           "load_avg": [round(x, 1) for x in os.getloadavg()]}
    process = [process_request(p, k) for p in split.queries]
    goal = [goal_request(p, k) for p in split.queries]
    vectors = pool.cache.embed([query_text(r) for r in process])
    pool.cache.embed([query_text(r) for r in goal + random_reqs])
    timed_recalls(pool, process[:5])  # warm-up: first calls into DuckDB, numpy and usearch
    row["ann"] = pool.ann is not None
    row["ann_settings"] = asdict(pool.ann_settings)

    progress(f"n={n:,}: recall, query by query (numpy, exact, shipped, each candidate factor)")
    factors = cfg.factors if row["ann"] else ()
    t, got = _timed_paths(pool, matrix, process, vectors, factors, k)
    del matrix
    for key in ("numpy", "exact", "exact_warm", "default"):
        row[key] = latency(t[key])
    row["fetch_ms"] = latency(t["fetch"])["p50"]  # median of the per-query differences
    row["p50_ms"], row["p99_ms"] = row["default"]["p50"], row["default"]["p99"]
    row["recall_at_k"] = round(mean_recall_at_k(got["default"], got["exact"], k), 3)
    row["k"] = k

    row["sweep"] = []
    if factors:
        progress(f"n={n:,}: recall@k of step-1 and random-vector queries per candidate factor")
        with exact_scan(pool):
            _, exact_goal = timed_recalls(pool, goal)
            _, exact_random = timed_recalls(pool, random_reqs)
        for f in factors:
            with candidate_factor(pool, f):
                _, got_goal = timed_recalls(pool, goal)
                _, got_random = timed_recalls(pool, random_reqs)
            row["sweep"].append({"factor": f, **latency(t[f"f{f}"]),
                                 "recall_process": round(mean_recall_at_k(got[f"f{f}"], got["exact"], k), 3),
                                 "recall_goal": round(mean_recall_at_k(got_goal, exact_goal, k), 3),
                                 "recall_random": round(mean_recall_at_k(got_random, exact_random, k), 3)})

    progress(f"n={n:,}: never-seen queries (embedding inside), each beside its embedding alone")
    embed_ms, cold_ms_list = [], []
    for probe in split.cold:
        req = process_request(probe, k)
        t0 = time.perf_counter()
        embedder.embed([query_text(req)])  # the bare model: no cache in front
        embed_ms.append((time.perf_counter() - t0) * 1000)
        ms, _ = recall_once(pool, req, cold=True)  # the pool has never seen this text: it embeds it
        cold_ms_list.append(ms)
    row["embed"] = latency(embed_ms)
    row["cold_default"] = latency(cold_ms_list)

    row["reference_p50_ms"] = None
    if ref is not None:
        progress(f"n={n:,}: reference port (each call beside the exact path)")
        reps = max(3, min(len(split.queries), cfg.reference_budget // max(n, 1)))
        ref_times, beside = [], []
        for probe, req, vec in zip(split.queries[:reps], process[:reps], vectors[:reps], strict=True):
            ref_times += reference_scan(ref, [probe], vec[None, :], k)
            with exact_scan(pool):
                beside.append(recall_once(pool, req, cold=True)[0])
        row["reference"] = latency(ref_times)
        row["reference_p50_ms"] = row["reference"]["p50"]
        row["reference_exact_beside"] = latency(beside)
        row["speedup_vs_exact"] = round(row["reference"]["p50"] / latency(beside)["p50"], 1)
        row["speedup"] = round(row["reference"]["p50"] / row["default"]["p50"], 1)
    del ref
    gc.collect()

    progress(f"n={n:,}: records at size n")
    half = len(split.records) // 2
    row["record_cold"] = records(pool, split.records[:half], warm=False)
    row["record_warm"] = records(pool, split.records[half:], warm=True)
    row["record_per_s"] = row["record_cold"]["per_s"]
    row["peak_rss_mb"] = peak_rss_mb()
    pool.flush()
    pool.store.checkpoint()
    pool.close()
    del pool
    gc.collect()
    row["bytes_per_experience"] = round(path.stat().st_size / n, 1)

    progress(f"n={n:,}: opening the file in a fresh process")
    opened = open_probe(path, persisted=True)
    row["open_s"], row["open_rss_mb"] = opened["s"], opened["rss_mb"]
    row["open_rss"] = opened.get("rss")  # after opening: anonymous (process memory) and file-backed MB
    row["opened_from"], row["ann_origin"] = opened.get("opened_from"), opened.get("ann_origin")
    row["open_persisted_ann_s"] = opened["s"] if opened.get("ann") else None
    rebuild = opened.get("ann") and n <= cfg.rebuild_open_max  # larger: minutes and GBs, not measured
    row["open_rebuild_ann_s"] = open_probe(path, persisted=False)["s"] if rebuild else None

    row["mcp"] = None
    if measure_mcp is not None:
        progress(f"n={n:,}: recall and record over MCP")
        row["mcp"] = measure_mcp(path, split.mcp)
    row["mcp_http_p50_ms"] = row["mcp"]["recall"]["p50"] if row["mcp"] else None
    return row


def scan_only(n: int, embedder_dim: int, split: Split, bases: Bases | None, vectors: np.ndarray,
              cfg: BenchConfig, progress: Progress = lambda _: None) -> dict[str, Any]:
    """The pool's exact scoring over an in-memory mirror of n rows (no DuckDB, no ANN) and numpy's scan."""
    from seer.pool import recall as pool_recall
    from seer.pool.mirror import Mirror
    from seer.pool.rows import PROVENANCE_DEFAULTS

    rng = np.random.default_rng(cfg.seed)
    mirror = Mirror(embedder_dim)
    mirror.reserve(n)
    for start in range(0, n, cfg.chunk):
        m = min(cfg.chunk, n - start)
        cols = (real_columns(rng, start, m, bases, "bench") if cfg.vectors == "real" and bases is not None
                else synthetic_columns(rng, start, m, embedder_dim))
        cols |= {name: np.full(m, value, dtype=object) for name, value in PROVENANCE_DEFAULTS.items()}
        cols["seq"] = np.arange(start + 1, start + m + 1, dtype=np.int64)
        cols["task_hash"] = np.zeros(m, np.uint64)  # dedup's, unused by recall
        mirror.append_stored(cols)
        progress(f"n={n:,} (scan only): {start + m:,} rows in memory")
        del cols
    times = []
    for probe, vec in zip(split.queries, vectors, strict=True):
        req = process_request(probe, cfg.k)
        t0 = time.perf_counter()
        pool_recall.recall_slots(mirror, None, req, pool_recall.plan(req), vec)
        times.append((time.perf_counter() - t0) * 1000)
    row = {"n": n, "vectors": cfg.vectors, "scan_only": True, "exact_scan": latency(times),
           "numpy": latency(numpy_scan(mirror.vec["trajectory"][: mirror.n], vectors, cfg.k)),
           "peak_rss_mb": peak_rss_mb()}
    del mirror
    gc.collect()
    return row


def _save(result: dict[str, Any], path: Path | None) -> None:
    if path is not None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)


def run(
    sizes: Sequence[int],
    *,
    embedder: Embedder,
    split: Split,
    bases: Bases | None,
    cfg: BenchConfig | None = None,
    scan_sizes: Sequence[int] = (),
    workdir: Path | None = None,
    measure_mcp: MeasureMcp | None = None,
    progress: Progress = lambda _: None,
    embed_threads: Sequence[int] = (1,),
    max_rss_gb: float = 6.0,
    save: Path | None = None,
) -> dict[str, Any]:
    """Benchmark every size (and the scan-only sizes); returns {"sizes": [...], "scan_only": [...],
    "skipped": [...], "embedding": {...}, "setup": {...}}. Sizes that would not fit in ``max_rss_gb`` or
    the machine's available memory are skipped (and listed); ``save``: the result so far is written there
    after every size."""
    cfg = cfg or BenchConfig()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="seer-bench-")
        workdir = Path(tmp.name)
    try:
        texts = [render_steps(p.history) + " (timing)" for p in split.cold[:50]]
        progress("embedding latency")
        result: dict[str, Any] = {
            "setup": {"vectors": cfg.vectors, "k": cfg.k, "queries": len(split.queries),
                      "cold_queries": len(split.cold), "records": len(split.records),
                      "mcp_queries": len(split.mcp), "bases": len(split.bases), "embedder": embedder.id,
                      "dim": embedder.dim, "cpus": sorted(os.sched_getaffinity(0)),
                      "omp_threads": os.environ.get("OMP_NUM_THREADS")},
            "embedding": embedding_latency(embedder, texts, embed_threads),
            "sizes": [],
            "scan_only": [],
            "skipped": [],
        }
        for n in sizes:
            refusal = memory_refusal(n, embedder.dim, full=True, max_rss_gb=max_rss_gb)
            if refusal is not None:
                result["skipped"].append({"n": n, "kind": "full", "reason": refusal})
                progress(f"done: n={n:,} skipped: {refusal}")
                continue
            row = bench_size(n, workdir=workdir, embedder=embedder, split=split, bases=bases, cfg=cfg,
                             measure_mcp=measure_mcp, progress=progress)
            result["sizes"].append(row)
            _save(result, save)
            progress(f"done: n={n:,}")
            for leftover in workdir.glob(f"bench-{cfg.vectors}-{n}.duckdb*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
            gc.collect()
        if scan_sizes:
            vectors = embedder.embed([query_text(process_request(p, cfg.k)) for p in split.queries])
            for n in scan_sizes:
                gc.collect()
                refusal = memory_refusal(n, embedder.dim, full=False, max_rss_gb=max_rss_gb)
                if refusal is not None:
                    result["skipped"].append({"n": n, "kind": "scan only", "reason": refusal})
                    progress(f"done: n={n:,} (scan only) skipped: {refusal}")
                    continue
                result["scan_only"].append(scan_only(n, embedder.dim, split, bases, vectors, cfg, progress))
                _save(result, save)
                progress(f"done: n={n:,} (scan only)")
        _save(result, save)
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()
