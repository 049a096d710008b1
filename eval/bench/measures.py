"""Measurements the recall benchmark composes: switches of the pool's paths (exact, candidate factor),
timed recalls, numpy's scan, the reference port's calls, records at size n, opening in a fresh process,
embedding latency and the memory a size needs."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from seer.eval.bench.metrics import latency
from seer.eval.bench.reference import ReferenceSelection
from seer.eval.bench.workload import Probe, record_request, reference_steps
from seer.pool import ExperiencePool, RecallRequest, render_steps
from seer.pool.embedders import Embedder


@contextmanager
def exact_scan(pool: ExperiencePool) -> Iterator[None]:
    """The pool's exact path: raise its ANN threshold above its size for the duration."""
    saved = pool.ann_threshold
    pool.ann_threshold = 2**62
    try:
        yield
    finally:
        pool.ann_threshold = saved


@contextmanager
def candidate_factor(pool: ExperiencePool, factor: int) -> Iterator[None]:
    """Run the pool's ANN path with another candidate factor (candidates per index = factor × k)."""
    saved = pool.ann_settings
    pool.ann_settings = replace(saved, candidate_factor=factor)
    if pool.ann is not None:
        pool.ann.settings = pool.ann_settings
    try:
        yield
    finally:
        pool.ann_settings = saved
        if pool.ann is not None:
            pool.ann.settings = saved


def cold_fetch(pool: ExperiencePool) -> None:
    """Forget the pool's in-memory display rows so a pass fetches its rows' texts as a new query would."""
    display = getattr(pool, "_display", None)
    if display is not None and hasattr(display, "clear"):
        display.clear()


def timed_recalls(
    pool: ExperiencePool, requests: Sequence[RecallRequest]
) -> tuple[list[float], list[list[str]]]:
    """Wall time (ms) and the ids of each recall, in order."""
    times, ids = [], []
    for req in requests:
        t0 = time.perf_counter()
        out = pool.recall(req)
        times.append((time.perf_counter() - t0) * 1000)
        ids.append([r.id for r in out])
    return times, ids


def recall_once(pool: ExperiencePool, request: RecallRequest, *, cold: bool) -> tuple[float, list[str]]:
    """One recall: wall time (ms) and ids; ``cold``: the rows' texts are fetched from the file."""
    if cold:
        cold_fetch(pool)
    t0 = time.perf_counter()
    out = pool.recall(request)
    return (time.perf_counter() - t0) * 1000, [r.id for r in out]


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def numpy_scan(matrix: np.ndarray, vectors: np.ndarray, k: int) -> list[float]:
    """ms per query of the brute-force f32 scan: ``matrix @ v`` and an argpartition for the top-k."""
    times = []
    for v in vectors:
        t0 = time.perf_counter()
        scores = matrix @ v
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top[np.argsort(-scores[top])]
        times.append((time.perf_counter() - t0) * 1000)
    return times


def reference_scan(
    ref: ReferenceSelection, probes: Sequence[Probe], vectors: np.ndarray, k: int
) -> list[float]:
    """ms per ``select_process_oriented`` call of the port (query embedding cached, as in our warm path)."""
    times = []
    for probe, vec in zip(probes, vectors, strict=True):
        history = probe.history
        steps = reference_steps(Probe(probe.qid, probe.intent, probe.question, probe.answer, tuple(history)))
        ref.cache["\n".join(steps)] = vec
        t0 = time.perf_counter()
        ref.select_process_oriented(k, steps, [s.tool for s in history], probe.intent)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def records(pool: ExperiencePool, probes: Sequence[Probe], *, warm: bool) -> dict[str, float]:
    """Records of held-out questions into the n-pool; ``warm``: their texts embedded beforehand, so only
    the write path (dedup check, transaction, mirror, ANN) is timed."""
    reqs = [record_request(p) for p in probes]
    if warm:
        pool.cache.embed([t for r in reqs for t in (r.task, render_steps(r.steps))])
    times, stored = [], 0
    for req in reqs:
        t0 = time.perf_counter()
        outcome = pool.record(req)
        times.append((time.perf_counter() - t0) * 1000)
        stored += int(outcome.stored)
    total_s = sum(times) / 1000
    return {"per_s": round(len(reqs) / total_s, 1) if total_s else float("nan"),
            "p50_ms": latency(times)["p50"], "stored": stored}


def open_probe(path: Path, *, persisted: bool) -> dict[str, Any]:
    """Open the pool in a fresh process: seconds, peak RSS (MB), where the vectors came from and how the
    ANN index came to be. ``persisted``: with the vector copy and the saved index; else everything from
    DuckDB and the index rebuilt (the pool before either was kept)."""
    # peak RSS from /proc (VmHWM): ru_maxrss would carry this (large) process's peak across fork + exec
    code = ("import json,sys,time\n"
            "from seer.eval.bench.procmem import peak_resident_mb, rss_parts_mb\n"
            "from seer.pool import ExperiencePool\n"
            "t=time.perf_counter()\n"
            "keep=sys.argv[2]=='1'\n"
            "p=ExperiencePool.open(sys.argv[1], intent_labels=None, persist_ann=keep, vector_copy=keep)\n"
            "s=time.perf_counter()-t\n"
            "print(json.dumps({'s':round(s,2),'rss_mb':peak_resident_mb(),'rss':rss_parts_mb(),\n"
            "                  'ann':p.ann is not None,\n"
            "                  'opened_from':p.opened_from,'ann_origin':p.ann_origin}))\n"
            "p.close()\n")
    out = subprocess.run([sys.executable, "-c", code, str(path), "1" if persisted else "0"],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory_needed(n: int, dim: int, *, full: bool) -> int:
    """Rough peak bytes a size adds. Scan only: the mirror's two f32 matrices in memory. A full pool maps
    its vectors from the vector copy (page cache, counted once: the scans read them all), and holds the
    int8 ANN indexes (global + per intent, two columns, ~650 bytes an entry with the graph), one bulk
    batch of vectors, ids and codes, DuckDB's buffers and, up to 100k, the reference port's records."""
    mirror = 2 * n * dim * 4
    if not full:
        return int(mirror * 1.15)
    reference = n * 4_000 if n <= 100_000 else 0
    return int(mirror + 4 * n * 650 + n * 1_000 + reference + 2**29)


def memory_refusal(n: int, dim: int, *, full: bool, max_rss_gb: float) -> str | None:
    """Why size n would not fit (the RSS cap or the machine's available memory), else None."""
    import psutil

    need = memory_needed(n, dim, full=full)
    rss = psutil.Process().memory_info().rss
    available = psutil.virtual_memory().available
    if rss + need > max_rss_gb * 2**30:
        return f"needs ~{need / 2**30:.1f} GB more than the {rss / 2**30:.1f} GB held (cap {max_rss_gb:g} GB)"
    if need > available - 2**30:
        return f"needs ~{need / 2**30:.1f} GB, the machine has {available / 2**30:.1f} GB available"
    return None


def embedding_latency(embedder: Embedder, texts: Sequence[str], threads: Sequence[int]) -> dict[str, Any]:
    """p50/p99 (ms) of embedding one text at a time, per torch thread count (restored afterwards)."""
    import torch

    saved = torch.get_num_threads()
    out: dict[str, Any] = {}
    try:
        for count in threads:
            torch.set_num_threads(count)
            embedder.embed([texts[0]])  # warm-up
            times = []
            for text in texts:
                t0 = time.perf_counter()
                embedder.embed([text])
                times.append((time.perf_counter() - t0) * 1000)
            out[str(count)] = latency(times)
    finally:
        torch.set_num_threads(saved)
    return out
