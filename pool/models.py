"""Pydantic records of the experience pool: what clients send, what is stored, what recall returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Strategy = Literal["static", "random", "goal", "process", "hybrid", "blend"]
IntentSource = Literal["caller", "inferred", "gold", "seed"]
Order = Literal["ranked", "shuffled"]
Term = Literal["s1", "s2", "s3"]
TERMS: tuple[Term, ...] = ("s1", "s2", "s3")
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
Status = Literal["active", "held", "quarantined"]  # only active experiences are recalled
STATUSES: tuple[Status, ...] = get_args(Status)


class PoolError(Exception):
    """A pool cannot be opened, read or written as asked (the message says why and what to do)."""


class PoolLockedError(PoolError):
    """The pool file is open for writing in another process (DuckDB allows one writer)."""


MAX_TASK_CHARS = 4_000
MAX_STEPS = 50
MAX_THOUGHT_CHARS = 2_000
MAX_OBSERVATION_CHARS = 8_000
MAX_ARGUMENTS_CHARS = 20_000  # as JSON: a PythonInterpreter program fits
MAX_ANSWER_CHARS = 2_000
MAX_IDS = 256
MAX_NAME_CHARS = 200  # a recorder (key name, token subject, seed:<file>) or a judge kind
MAX_FILTERS = 32


class Step(BaseModel):
    """One tool step of a trajectory: the thought, the call, its result and whether it succeeded."""

    model_config = ConfigDict(extra="forbid")

    thought: str = Field(default="", description="The reasoning before the call (optional)")
    tool: str = Field(min_length=1, description="Tool name, e.g. FilterDB")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments")
    observation: str = Field(default="", description="The tool's result (optional for recall)")
    ok: bool = Field(default=True, description="False when the call returned an error")


def _bounded(step: Step) -> Step:
    """What a client sends is bounded (a recorded step is shown to other agents as a demonstration)."""
    for name, value, limit in (("thought", step.thought, MAX_THOUGHT_CHARS), ("tool", step.tool, 100),
                               ("observation", step.observation, MAX_OBSERVATION_CHARS),
                               ("arguments", json.dumps(step.arguments, default=str), MAX_ARGUMENTS_CHARS)):
        if len(value) > limit:
            raise ValueError(f"a step's {name} is {len(value):,} characters long; the limit is {limit:,}")
    return step


StepIn = Annotated[Step, AfterValidator(_bounded)]


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
    recorder: str = "local"
    status: Status = "active"
    status_reason: str = ""


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]


class RecallRequest(BaseModel):
    """Stepwise recall (Algorithm 1): the task, the steps made so far and how to score candidates.

    The MCP tool ``recall_experiences`` takes exactly these fields as its arguments."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(max_length=MAX_TASK_CHARS, description="The user's task / question")
    steps_so_far: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS,
                                     description="Tool calls made so far in this task")
    intent: str | None = Field(default=None, description="Task intent label; inferred when omitted")
    k: int = Field(default=4, ge=0, le=32, description="How many demonstrations")
    strategy: Strategy = Field(
        default="hybrid",
        description="hybrid: query at step 1, trajectory after; goal: query only; process: trajectory "
        "only; blend: hybrid with the query kept in s1 after step 1; static: the intent's first seed "
        "demonstrations; random: seeded random",
    )
    terms: list[Term] = Field(default_factory=lambda: list(TERMS), description="Score terms to use")
    lambdas: tuple[float, float, float] = Field(default=(1.0, 1.0, 1.0), description="Weights of s1, s2, s3")
    exclude_task_id: str | None = Field(default=None, description="Never return this task's experiences")
    max_per_template: int | None = Field(default=None, ge=1, description="At most m per task template")
    token_budget: int | None = Field(default=None, ge=1, description="Cap on demonstration tokens")
    order: Order = Field(default="ranked", description="Result order")
    seed: int | None = Field(default=None, description="Seed of the random strategy and shuffled order")
    same_intent: bool = Field(
        default=False, description="Only demonstrations of the task's intent (none if the pool has none)"
    )
    fallback: Literal["nothing", "unseen_intent", "other_intents"] = Field(
        default="nothing",
        description="What a same_intent recall returns when nothing of the task's intent (and question type,"
        " with min_overlap) passes: nothing (the model on its own); unseen_intent: for an intent the pool"
        " has never seen, the best of any intent; other_intents: the best of the other intents (the tool"
        " protocol), never another question type of the task's own intent",
    )
    other_intents: bool = Field(
        default=False, description="Only demonstrations of intents other than the task's"
    )
    min_overlap: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Only demonstrations whose question shares at least this share of its type words with "
        "the task (lower-case words, no numbers or names; 1.0: the same question type)",
    )
    recorders: list[Name] | None = Field(
        default=None, max_length=MAX_FILTERS,
        description="Only demonstrations recorded by these recorders (API key names, 'local', "
        "'seed:<file>'; a trailing * matches a prefix). The server's trusted recorders still apply",
    )
    judges: list[Name] | None = Field(
        default=None, max_length=MAX_FILTERS,
        description="Only demonstrations judged by these judge kinds (exact_match, llm_gold, env, self, "
        "seed, ...; a trailing * matches a prefix). The server's trusted judges still apply",
    )

    @property
    def use_s1(self) -> bool:
        return "s1" in self.terms

    @property
    def use_s2(self) -> bool:
        return "s2" in self.terms

    @property
    def use_s3(self) -> bool:
        return "s3" in self.terms


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
    recorder: str = ""
    judge: str = ""


class RecordRequest(BaseModel):
    """A finished trajectory and its judged outcome (Algorithm 2 input).

    The MCP tool ``record_trajectory`` takes these fields (all but ``intent_source``) as its arguments."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(max_length=MAX_TASK_CHARS, description="The task / question")
    steps: list[StepIn] = Field(max_length=MAX_STEPS, description="All tool calls with observations")
    final_answer: str = Field(default="", max_length=MAX_ANSWER_CHARS, description="The answer given")
    success: bool = Field(description="Judged successful; only successes are stored")
    judge: str = Field(default="unknown", max_length=MAX_NAME_CHARS,
                       description="Who judged: exact_match, llm_gold, env, self, user, ... (gold- or "
                       "environment-checked judges carry more weight than the client's own word)")
    judge_verdict: str = Field(default="", max_length=MAX_ANSWER_CHARS,
                               description="The judge's verdict text (optional)")
    intent: str | None = Field(default=None, description="Task intent label; inferred when omitted")
    intent_source: IntentSource | None = None
    source_task_id: str | None = Field(default=None, description="Benchmark task id, if any")
    model: str | None = Field(default=None, description="The model that produced the trajectory")
    recalled_ids: list[str] = Field(default_factory=list, max_length=MAX_IDS,
                                    description="Experience ids recalled for this task")

    @field_validator("task")
    @classmethod
    def _task_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task must not be blank")
        return value

    @field_validator("judge")
    @classmethod
    def _judge_not_seed(cls, value: str) -> str:
        if value == "seed":
            raise ValueError("judge 'seed' is reserved for imported seed demonstrations")
        return value


class RecordOutcome(BaseModel):
    """Whether a recorded trajectory was stored, its id, its status (held ones are not recalled until an
    admin releases them), and why (or where it was merged); ``rules``: the screening rules it matched."""

    stored: bool
    id: str | None = None
    reason: str
    merged_into: str | None = None
    status: Status | None = None
    rules: list[str] = Field(default_factory=list)
    # stored but not recalled until its texts are embedded (a pool that defers embedding)
    pending: bool = False


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
    per_status: dict[str, int] = Field(default_factory=dict)
    # of ``count``: records stored but not embedded yet (a pool that defers embedding), not recalled until
    # they are; and the acknowledgement-to-recallable lag of the recently published ones (p50, p99, max ms)
    pending: int = 0
    pending_lag_ms: dict[str, float] = Field(default_factory=dict)
    # records acknowledged as stored, then merged into a near-duplicate once embedded (since open)
    merged_after_ack: int = 0
