"""Term weights tuned on the experiences a run recorded itself: leave-one-out over the grown pool.

A run log holds every success the run recorded (its ``record_trajectory`` arguments). The pool is rebuilt
from the run's seeds plus those records, in order; then for each recorded experience and each step t, the
pool is asked with the experience's question, intent and first t-1 steps (the experience itself excluded)
under every weight setting. Counted, as in ``recall_quality``: whether the top-k hold a demonstration of
the same question type (the same intent and type words: what the agent needs to copy), whether one calls
the gold tool at step t, and whether the top-1 is of the same type. No LLM is involved; the labels come
from the questions, so weights are chosen on what a run recorded, not on the oracle seed library.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seer.eval.runlog import BatchLog, RunHeader, RunLog, TaskLog
from seer.eval.runner import record_payload, was_recorded
from seer.pool import ExperiencePool, RecallRequest, RecordRequest, parse_library
from seer.pool.embedders import Embedder
from seer.pool.render import question_words

GRID = (0.25, 0.5, 1.0, 2.0, 4.0)  # s1 and s2 weights; s3 (intent) is constant under same_intent


@dataclass(frozen=True)
class WeightRow:
    strategy: str
    lambdas: tuple[float, float, float]
    n: int  # recalls (experiences x steps)
    type_hit: float  # % with a same-type demonstration among the top-k
    top1_type: float  # % whose first demonstration is of the same type
    next_tool_hit: float  # % where a demonstration calls the gold tool at this step


def question_type(intent: str, task: str) -> str:
    return intent + "|" + " ".join(sorted(question_words(task)))


def recorded_requests(
    run_dir: Path, method: str | None = None
) -> tuple[str, list[RecordRequest], Path | None]:
    """(method, its records in the order they joined the pool, its seed library) from a run folder."""
    lines = RunLog(Path(run_dir) / "runlog.jsonl").read()
    header = next((x for x in lines if isinstance(x, RunHeader)), None)
    learning = [b.method for b in lines if isinstance(b, BatchLog)]
    method = method or (learning[0] if learning else None)
    if method is None:
        raise ValueError(f"{run_dir}: no method of this run recorded anything")
    flushed = {(b.phase, b.batch) for b in lines if isinstance(b, BatchLog) and b.method == method}
    tasks = [t for t in lines if isinstance(t, TaskLog) and t.method == method and t.verdict.success
             and was_recorded(t, flushed)]
    seeds = header.config.get("seeds") if header else None
    library = Path(seeds) if seeds and seeds != "none" else None
    return method, [RecordRequest(**record_payload(t, "")) for t in tasks], library


def evaluate(records: Sequence[RecordRequest], library: Path | None, embedder: Embedder, *, k: int = 4,
             strategies: Sequence[str] = ("blend", "hybrid"), grid: Sequence[float] = GRID,
             max_step: int = 4, workdir: Path | None = None) -> list[WeightRow]:
    """Leave-one-out over the pool rebuilt from ``library`` + ``records``; one row per setting."""
    rows: list[WeightRow] = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        pool = ExperiencePool.open(Path(tmp) / "tune.duckdb", embedder)
        try:
            if library is not None:
                pool.add_experiences(parse_library(library))
            stored = [(r, pool.record(r)) for r in records]
            kinds = {exp.id: question_type(exp.intent, exp.task) for exp in pool.experiences()}
            probes = [(r, out.id) for r, out in stored if out.stored and out.id]
            for strategy, l1, l2 in itertools.product(strategies, grid, grid):
                lambdas = (l1, l2, 1.0)
                counts = [0, 0, 0, 0]
                for request, own_id in probes:
                    kind = kinds[own_id]
                    for t in range(1, min(len(request.steps), max_step) + 1):
                        out = pool.recall(RecallRequest(
                            task=request.task, steps_so_far=request.steps[: t - 1], intent=request.intent,
                            k=k, strategy=strategy, lambdas=lambdas, same_intent=True,  # type: ignore[arg-type]
                            exclude_task_id=request.source_task_id))
                        counts[0] += 1
                        counts[1] += any(kinds.get(r.id) == kind for r in out)
                        counts[2] += bool(out) and kinds.get(out[0].id) == kind
                        counts[3] += any(r.tool_chain[t - 1: t] == [request.steps[t - 1].tool] for r in out)
                n = max(counts[0], 1)
                rows.append(WeightRow(strategy, lambdas, counts[0], 100 * counts[1] / n, 100 * counts[2] / n,
                                      100 * counts[3] / n))
        finally:
            pool.close()
    return rows


def summary(rows: Sequence[WeightRow]) -> dict[str, Any]:
    """The best setting per strategy by same-type share (ties: top-1, then the default weights)."""
    best: dict[str, WeightRow] = {}
    for row in rows:
        key = (row.type_hit, row.top1_type, row.lambdas == (1.0, 1.0, 1.0))
        cur = best.get(row.strategy)
        if cur is None or key > (cur.type_hit, cur.top1_type, cur.lambdas == (1.0, 1.0, 1.0)):
            best[row.strategy] = row
    default = {r.strategy: r for r in rows if r.lambdas == (1.0, 1.0, 1.0)}
    return {s: {"best": best[s], "default": default.get(s)} for s in best}
