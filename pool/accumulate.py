"""Algorithm 2 hygiene: which trajectories are stored, duplicates, capacity and eviction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from seer.pool.models import Experience, Step
from seer.pool.render import approx_tokens, normalise_task, render_demo, template_key
from seer.pool.store import dumps


@dataclass(frozen=True)
class Capacity:
    """Pool limits: experiences per intent, in total, and the query cosine that makes a duplicate."""

    per_intent: int = 5_000
    total: int = 100_000
    dedup_cosine: float = 0.97


def new_id() -> str:
    """A fresh experience id."""
    return uuid.uuid4().hex[:16]


def clean_steps(steps: list[Step]) -> list[Step]:
    """Drop failed steps (ok=False): demonstrations show only calls that worked."""
    return [s for s in steps if s.ok]


def experience_row(exp: Experience, seq: int) -> dict[str, Any]:
    """The DuckDB row of an experience (vectors must be set)."""
    created = exp.created_at.astimezone(UTC).replace(tzinfo=None) if exp.created_at.tzinfo else exp.created_at
    return {
        "seq": seq,
        "id": exp.id,
        "task": exp.task,
        "intent": exp.intent,
        "intent_source": exp.intent_source,
        "steps": dumps([s.model_dump() for s in exp.steps]),
        "tool_chain": dumps(exp.tool_chain),
        "template": template_key(exp.intent, exp.tool_chain),
        "norm_task": normalise_task(exp.task),
        "demo_text": exp.demo_text,
        "tokens": approx_tokens(exp.demo_text),
        "query_embedding": np.asarray(exp.query_embedding, np.float32),
        "trajectory_embedding": np.asarray(exp.trajectory_embedding, np.float32),
        "judge_kind": exp.judge_kind,
        "judge_verdict": exp.judge_verdict,
        "model": exp.model,
        "embedder_id": exp.embedder_id,
        "source_task_id": exp.source_task_id,
        "final_answer": exp.final_answer,
        "created_at": created,
        "times_recalled": exp.times_recalled,
        "times_in_success": exp.times_in_success,
    }


def build_experience(
    task: str,
    steps: list[Step],
    intent: str,
    intent_source: str,
    *,
    final_answer: str = "",
    judge_kind: str = "unknown",
    judge_verdict: str = "",
    model: str | None = None,
    source_task_id: str | None = None,
    embedder_id: str = "",
    ident: str | None = None,
) -> Experience:
    """An Experience (without vectors) from a cleaned trajectory."""
    return Experience(
        id=ident or new_id(),
        task=task,
        intent=intent,
        intent_source=intent_source,  # type: ignore[arg-type]
        steps=steps,
        tool_chain=[s.tool for s in steps],
        demo_text=render_demo(task, steps),
        judge_kind=judge_kind,
        judge_verdict=judge_verdict,
        model=model,
        embedder_id=embedder_id,
        source_task_id=source_task_id,
        final_answer=final_answer,
        created_at=datetime.now(UTC),
    )


def is_duplicate(query_cos: np.ndarray, same_text: np.ndarray, threshold: float) -> np.ndarray:
    """Near-identical task: query cosine ≥ threshold or equal normalised text (same template assumed)."""
    return (query_cos >= threshold) | same_text
