"""Recall quality without an LLM: leave-one-out over a demonstration library.

For every trajectory in a library (``library.json``) and every step t of it, recall with its question,
its gold intent and its own first t-1 steps as the history, excluding the trajectory itself. Counted per
strategy and step: whether the top-k hold a demonstration of the same template (the same question type,
so the same tool chain — the demonstration the agent most needs), whether one of them makes the same
call kind at step t as the gold trajectory (the next tool), and the share of demonstrations with the
right intent. Template labels come from the records' ``template`` field (our synthetic seed libraries
have one); without it, the tool chain stands in for the template.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seer.pool import ExperiencePool, RecallRequest, parse_library
from seer.pool.embedders import Embedder

STRATEGIES = ("hybrid", "blend", "goal", "process", "static", "random")


@dataclass(frozen=True)
class QualityRow:
    strategy: str
    step: int  # 0 = all steps
    n: int
    template_hit: float  # % of recalls with a same-template demonstration among the top-k
    next_tool_hit: float  # % of recalls where a demonstration calls the gold tool at this step
    intent_precision: float  # % of recalled demonstrations with the task's intent


def evaluate(library: Path, embedder: Embedder, *, k: int = 4, strategies: Sequence[str] = STRATEGIES,
             max_step: int = 6, workdir: Path | None = None) -> list[QualityRow]:
    """Leave-one-out recall over ``library``; one row per (strategy, step) and one per strategy (step 0)."""
    records = json.loads(Path(library).read_text(encoding="utf-8"))
    experiences = parse_library(Path(library))
    template = {f"seed-{r['id']}": str(r.get("template") or "") for r in records}
    for exp in experiences:
        template[exp.id] = template.get(exp.id) or " > ".join(s.tool for s in exp.steps)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        pool = ExperiencePool.open(Path(tmp) / "quality.duckdb", embedder)
        try:
            pool.add_experiences(experiences)
            hits: dict[tuple[str, int], list[tuple[bool, bool, float]]] = defaultdict(list)
            for exp in experiences:
                for t in range(1, min(len(exp.steps), max_step) + 1):
                    gold_tool = exp.steps[t - 1].tool
                    for strategy in strategies:
                        out = pool.recall(RecallRequest(
                            task=exp.task, steps_so_far=exp.steps[: t - 1], intent=exp.intent, k=k,
                            strategy=strategy, exclude_task_id=exp.source_task_id))  # type: ignore[arg-type]
                        same_template = any(template.get(r.id) == template[exp.id] for r in out)
                        next_tool = any(r.tool_chain[t - 1 : t] == [gold_tool] for r in out)
                        precision = sum(r.intent == exp.intent for r in out) / len(out) if out else 0.0
                        hits[(strategy, t)].append((same_template, next_tool, precision))
        finally:
            pool.close()
    rows = []
    for strategy in strategies:
        steps = sorted(t for s, t in hits if s == strategy)
        for t in [*steps, 0]:
            values = [v for step in (steps if t == 0 else [t]) for v in hits[(strategy, step)]]
            if values:
                share = [100 * sum(v[i] for v in values) / len(values) for i in range(3)]
                rows.append(QualityRow(strategy, t, len(values), *share))
    return rows
