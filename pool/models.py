"""Pydantic records of the experience pool: what clients send, what is stored, what recall returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Strategy = Literal["static", "random", "goal", "process", "hybrid", "blend"]
IntentSource = Literal["caller", "inferred", "gold", "seed"]
Order = Literal["ranked", "shuffled"]


class PoolError(Exception):
    """A pool cannot be opened, read or written as asked (the message says why and what to do)."""


class PoolLockedError(PoolError):
    """The pool file is open for writing in another process (DuckDB allows one writer)."""


class Step(BaseModel):
    """One tool step of a trajectory: the thought, the call, its result and whether it succeeded."""

    model_config = ConfigDict(extra="forbid")

    thought: str = ""
    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    observation: str = ""
    ok: bool = True


class Experience(BaseModel):
    """A stored successful trajectory d_τ = ⟨E_τ, E_q, I_τ, U_τ⟩ plus provenance and usage statistics."""

    model_config = ConfigDict(extra="forbid")

    id: str
    task: str
    intent: str
    intent_source: IntentSource = "caller"
    steps: list[Step]
    tool_chain: list[str]
    demo_text: str
    query_embedding: list[float] | None = None
    trajectory_embedding: list[float] | None = None
    judge_kind: str = "unknown"
    judge_verdict: str = ""
    model: str | None = None
    embedder_id: str = ""
    source_task_id: str | None = None
    final_answer: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    times_recalled: int = 0
    times_in_success: int = 0


class RecallRequest(BaseModel):
    """Stepwise recall (Algorithm 1): the task, the steps made so far and how to score candidates."""

    model_config = ConfigDict(extra="forbid")

    task: str
    steps_so_far: list[Step] = Field(default_factory=list)
    intent: str | None = None
    k: int = Field(default=4, ge=0, le=1000)
    strategy: Strategy = "hybrid"
    use_s1: bool = True
    use_s2: bool = True
    use_s3: bool = True
    lambdas: tuple[float, float, float] = (1.0, 1.0, 1.0)
    exclude_task_id: str | None = None
    max_per_template: int | None = Field(default=None, ge=1)
    token_budget: int | None = Field(default=None, ge=1)
    order: Order = "ranked"
    seed: int | None = None
    same_intent: bool = False  # only the task's intent; none when the pool holds none of it

    @property
    def step_index(self) -> int:
        """1-based index of the step about to be taken."""
        return len(self.steps_so_far) + 1


class RecalledExperience(BaseModel):
    """One demonstration returned by recall, with its score and each score term."""

    id: str
    task: str
    intent: str
    demo_text: str
    tool_chain: list[str]
    score: float
    s1: float
    s2: float
    s3: float


class RecordRequest(BaseModel):
    """A finished trajectory and its judged outcome (Algorithm 2 input)."""

    model_config = ConfigDict(extra="forbid")

    task: str
    steps: list[Step]
    final_answer: str = ""
    success: bool
    judge: str = "unknown"
    judge_verdict: str = ""
    intent: str | None = None
    intent_source: IntentSource | None = None
    source_task_id: str | None = None
    model: str | None = None
    recalled_ids: list[str] = Field(default_factory=list)

    @field_validator("task")
    @classmethod
    def _task_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task must not be blank")
        return value


class RecordOutcome(BaseModel):
    """Whether a recorded trajectory was stored, its id, and why (or where it was merged)."""

    stored: bool
    id: str | None = None
    reason: str
    merged_into: str | None = None


class PoolStats(BaseModel):
    """Counts of a pool: total, per intent, embedder and schema."""

    name: str
    path: str
    count: int
    per_intent: dict[str, int]
    embedder_id: str
    dim: int
    schema_version: int
    times_recalled: int = 0
    times_in_success: int = 0
