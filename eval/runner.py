"""Protocols and the resumable runner: question stream → agent → judge → pool → run log.

The runner runs *methods* (``seer.eval.methods``: a recall configuration plus whether judged
successes are recorded). A *protocol* says where learning happens: ``online`` learns on the
evaluation stream itself (as the SEER paper did); ``heldout`` learns on a train split, freezes
the pool and evaluates a disjoint test split. Successes are recorded immediately or at the end
of each batch (the pool is frozen inside a batch: records are buffered, flushed at the end).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio

from seer.eval.agent import Agent, AgentConfig, ChatModel, FinalStep, IntentStep, McpClient
from seer.eval.agent import structured_of as _structured
from seer.eval.judges import Judge
from seer.eval.methods import Method
from seer.eval.runlog import (
    BatchLog,
    RebuildLog,
    RecalledRef,
    RecordLog,
    RunLog,
    StepLog,
    TaskLog,
    VerdictLog,
)
from seer.eval.toolqa.scoring import exact_match

if TYPE_CHECKING:
    from seer.eval.benchmarks.base import Benchmark

Phase = Literal["online", "train", "test"]


class StreamTask(Protocol):
    """What the runner reads from a task: a ToolQA question or a benchmark plug-in's task."""

    @property
    def qid(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def answer_text(self) -> str: ...


@dataclass(frozen=True)
class Slot:
    """One task of the stream: the question, its phase and its batch number (1-based)."""

    question: StreamTask
    phase: Phase
    batch: int


def make_stream(
    questions: Sequence[StreamTask], *, protocol: str, batches: int, seed: int, train_frac: float = 0.5
) -> list[Slot]:
    """Shuffle (seeded) and cut into batches; ``heldout`` splits each domain into train and test first."""
    rng = random.Random(seed)
    learn: list[StreamTask]
    test: list[StreamTask]
    if protocol == "online":
        learn, test = list(questions), []
    elif protocol == "heldout":
        learn, test = [], []
        for domain in dict.fromkeys(q.domain for q in questions):
            group = [q for q in questions if q.domain == domain]
            rng.shuffle(group)
            cut = max(1, round(len(group) * train_frac)) if len(group) > 1 else 0
            learn += group[:cut]
            test += group[cut:]
    else:
        raise ValueError(f"unknown protocol {protocol!r}; expected online or heldout")
    rng.shuffle(learn)
    n = max(1, min(batches, len(learn))) if learn else 1
    phase: Phase = "online" if protocol == "online" else "train"
    stream = [Slot(q, phase, 1 + i * n // len(learn)) for i, q in enumerate(learn)]
    return stream + [Slot(q, "test", 0) for q in test]


@dataclass
class RunSettings:
    immediate: bool = False  # record each success at once instead of at the batch end
    agent: AgentConfig = field(default_factory=AgentConfig)
    source: str = ""  # model name recorded with each experience
    measure_cpu: bool = True  # off when methods share this process (--parallel): its CPU time mixes them
    rebuild_pools: frozenset[str] = frozenset()  # methods whose pool file was lost: replay the log's records
    # tasks of one batch solved at once (a served model; the pool is frozen inside a batch, so the results
    # equal a sequential run's); 1: one after the other
    concurrency: int = 1
    helper_cpu: Callable[[], float] | None = None  # CPU seconds so far of a helper process (a model server)


ClientFactory = Callable[[Method], AbstractAsyncContextManager[McpClient]]


def trajectory_text(final: FinalStep) -> str:
    lines = []
    for s in final.steps:
        lines.append(f"Step {s.index}: {s.thought} {s.call_text}")
        lines.append(f"Result {s.index}: {s.observation[:500]}")
    return "\n".join(lines)


def _step_log(step: Any) -> StepLog:
    recalled = (
        None
        if step.recall is None
        else [RecalledRef(id=d.id, score=d.score, s1=d.s1, s2=d.s2, s3=d.s3) for d in step.recall.demos]
    )
    return StepLog(
        index=step.index,
        recalled=recalled,
        recall_steps_sent=step.recall.steps_sent if step.recall else 0,
        recall_s=step.recall.seconds if step.recall else 0.0,
        thought=step.thought,
        tool=step.tool,
        arguments=step.arguments,
        ok=step.ok,
        error=step.error,
        observation=step.observation,
        raw=step.raw[:2048],
        prompt_tokens=step.prompt_tokens,
        completion_tokens=step.completion_tokens,
        cached_prompt_tokens=step.cached_prompt_tokens,
        latency_s=step.latency_s,
        tool_s=step.tool_s,
    )


def record_payload(task: TaskLog, source: str) -> dict[str, Any]:
    """The ``record_trajectory`` arguments for a logged task (also used to rebuild buffers on resume)."""
    steps = [
        {
            "tool": s.tool,
            "arguments": s.arguments,
            "ok": s.ok,
            "thought": s.thought,
            "observation": s.observation,
        }
        for s in task.steps
        if s.tool
    ]
    payload: dict[str, Any] = {
        "task": task.question,
        "steps": steps,
        "final_answer": task.answer or "",
        "success": task.verdict.success,
        "judge": task.verdict.kind,
        "source_task_id": task.qid,
        "recalled_ids": task.recalled_ids,
    }
    if task.intent:
        payload["intent"] = task.intent
    if source:
        payload["model"] = source
    return payload


def outcomes_by_intent(tasks: Sequence[TaskLog]) -> dict[str, tuple[int, int]]:
    """intent -> (successes, judged tasks): the agent's own record, which ``open_below`` reads."""
    tally: dict[str, tuple[int, int]] = {}
    for task in tasks:
        if task.intent:
            successes, judged = tally.get(task.intent, (0, 0))
            tally[task.intent] = (successes + task.verdict.success, judged + 1)
    return tally


class Runner:
    """Runs methods over a stream, judging, recording and logging every task; resumable from its log."""

    def __init__(
        self,
        model: ChatModel,
        judge: Judge,
        log: RunLog,
        settings: RunSettings | None = None,
        on_task: Callable[[TaskLog], None] | None = None,
        bench: Benchmark | None = None,
    ):
        self.model, self.judge, self.log = model, judge, log
        self.settings = settings or RunSettings()
        self.on_task = on_task
        self.bench = bench  # None: ToolQA (question → answer → judge); else the plug-in runs each episode
        if self.settings.concurrency > 1 and self.settings.immediate:
            raise ValueError("--concurrency needs batch-end recording: immediate records would change the "
                             "pool while other tasks of the batch run")

    def agent_config(self, method: Method) -> AgentConfig:
        cfg = replace(self.settings.agent, recall=method.recall)
        if method.recall is None and not method.learn:
            cfg = replace(cfg, intent="server")  # the intent is never used: skip the LLM call
        return cfg

    async def run_method(self, method: Method, client: McpClient, stream: Sequence[Slot]) -> list[TaskLog]:
        """Run one method over the stream, skipping tasks the log already holds."""
        agent = await Agent(client, self.model, self.agent_config(method)).setup()
        lines = self.log.read()
        done = {t.qid: t for t in lines if isinstance(t, TaskLog) and t.method == method.name}
        flushed = {(b.phase, b.batch) for b in lines if isinstance(b, BatchLog) and b.method == method.name}
        if method.name in self.settings.rebuild_pools:
            await self.replay(client, method, [t for t in done.values() if was_recorded(t, flushed)])
        results: list[TaskLog] = []
        learned: list[TaskLog] = []  # judged tasks the agent has learned from, as of the current batch
        for key, group in groupby(stream, key=lambda s: (s.phase, s.batch)):
            slots = list(group)
            todo = [s for s in slots if s.question.qid not in done]
            agent.outcomes = outcomes_by_intent(learned)  # like the pool: updated at batch ends only
            await self.solve_batch(agent, client, method, todo, done)
            tasks = [done[s.question.qid] for s in slots]
            results += tasks
            if slots[-1].phase != "test":
                learned += tasks
                if key not in flushed:
                    buffer = [t for t in tasks if t.record.status == "buffered"]
                    await self.flush(client, method, slots[-1], buffer, tasks[-1].pool_size)
        return results

    async def solve_batch(self, agent: Agent, client: McpClient, method: Method, slots: Sequence[Slot],
                          done: dict[str, TaskLog]) -> None:
        """Solve a batch's unfinished tasks, logging each as it ends: in order, or ``concurrency`` at once
        (the pool is frozen inside a batch, so every task sees the same pool either way)."""

        async def one(slot: Slot) -> None:
            task = await self.solve(agent, client, method, slot)
            self.log.append(task)
            done[slot.question.qid] = task
            if self.on_task:
                self.on_task(task)

        if self.settings.concurrency <= 1:
            for slot in slots:
                await one(slot)
            return
        limiter = anyio.CapacityLimiter(self.settings.concurrency)

        async def limited(slot: Slot) -> None:
            async with limiter:
                await one(slot)

        async with anyio.create_task_group() as group:
            for slot in slots:
                group.start_soon(limited, slot)

    async def solve(self, agent: Agent, client: McpClient, method: Method, slot: Slot) -> TaskLog:
        q, start, cpu_start = slot.question, time.perf_counter(), time.process_time()
        helper_start = self.settings.helper_cpu() if self.settings.helper_cpu else 0.0
        gold, question = q.answer_text, q.question
        if self.bench is not None:  # the plug-in runs the episode and its own checker decides
            from seer.eval.benchmarks.base import RoutedClient

            assert isinstance(client, RoutedClient), "a benchmark runs on a RoutedClient"
            episode = await self.bench.episode(agent, client, q)  # type: ignore[arg-type]
            intent_step, final, verdict = episode.intent, episode.final, episode.verdict
            question = episode.question or question
        else:
            events = [
                e async for e in agent.run(q.question, task_id=q.qid, gold_intent=q.domain,
                                           exclude_task_id=q.qid)
            ]
            intent_step = next(e for e in events if isinstance(e, IntentStep))
            last = events[-1]
            assert isinstance(last, FinalStep)
            final, answer = last, last.answer
            verdict = await anyio.to_thread.run_sync(
                lambda: self.judge(q.question, answer, gold, trajectory_text(final))
            )
        pool_sizes = [s.recall.pool_size for s in final.steps if s.recall is not None]
        task = TaskLog(
            method=method.name,
            phase=slot.phase,
            batch=slot.batch,
            qid=q.qid,
            domain=q.domain,
            level=q.level,
            question=question,
            intent=final.intent,
            intent_source=intent_step.source,
            answer=final.answer,
            gold=gold,
            halted=final.halted,
            em=exact_match(final.answer, gold) if self.bench is None else verdict.success,
            verdict=VerdictLog(success=verdict.success, kind=verdict.kind, detail=verdict.detail),
            steps=[_step_log(s) for s in final.steps],
            recalled_ids=final.recalled_ids,
            record=RecordLog(status="skipped", reason="not learning"),
            pool_size=pool_sizes[-1] if pool_sizes else 0,
            prompt_tokens=intent_step.prompt_tokens + sum(s.prompt_tokens for s in final.steps),
            completion_tokens=intent_step.completion_tokens + sum(s.completion_tokens for s in final.steps),
            cached_prompt_tokens=intent_step.cached_prompt_tokens
            + sum(s.cached_prompt_tokens for s in final.steps),
        )
        if not method.learn or slot.phase == "test":
            pass
        elif not verdict.success:
            task.record = RecordLog(status="skipped", reason=f"judged unsuccessful ({verdict.kind})")
        elif self.settings.immediate:
            out = await self.record(client, task)
            task.record = RecordLog(
                status="stored" if out.get("stored") else "rejected",
                id=out.get("id"),
                reason=str(out.get("reason", "")),
            )
            task.pool_size = int(out.get("pool_size", task.pool_size))
        else:
            task.record = RecordLog(status="buffered", reason="recorded at the batch end")
        task.seconds = time.perf_counter() - start
        if self.settings.measure_cpu:  # comparable when runs share cores; 0: not measured
            task.cpu_seconds = time.process_time() - cpu_start
            if self.settings.helper_cpu:
                task.cpu_seconds += self.settings.helper_cpu() - helper_start
        return task

    async def flush(
        self, client: McpClient, method: Method, slot: Slot, buffer: Sequence[TaskLog], pool_size: int = 0
    ) -> None:
        """Record the batch's buffered successes, then log the batch (so a resume never flushes twice)."""
        stored: list[str] = []
        merged: list[str] = []
        rejected: dict[str, str] = {}
        for task in buffer:
            out = await self.record(client, task)
            pool_size = int(out.get("pool_size", pool_size))
            if out.get("stored") and out.get("id"):
                stored.append(str(out["id"]))
            elif out.get("merged_into"):
                merged.append(str(out["merged_into"]))
            else:
                rejected[task.qid] = str(out.get("reason") or "not stored (the server gave no reason)")
        if method.learn:
            self.log.append(
                BatchLog(
                    method=method.name,
                    phase=slot.phase,
                    batch=slot.batch,
                    flushed=len(buffer),
                    stored_ids=stored,
                    merged_into=merged,
                    rejected=rejected,
                    pool_size=pool_size,
                )
            )

    async def replay(self, client: McpClient, method: Method, recorded: Sequence[TaskLog]) -> None:
        """Rebuild a lost pool file from the log: the same records in the same order give the same pool
        (the server imports the seeds again when it creates the file); the new ids are logged."""
        if not recorded:
            return
        stored: list[str] = []
        pool_size = 0
        for task in recorded:
            out = await self.record(client, task)
            pool_size = int(out.get("pool_size", pool_size))
            if out.get("stored") and out.get("id"):
                stored.append(str(out["id"]))
        self.log.append(RebuildLog(method=method.name, replayed=len(recorded), stored_ids=stored,
                                   pool_size=pool_size))

    async def record(self, client: McpClient, task: TaskLog) -> dict[str, Any]:
        payload = record_payload(task, self.settings.source)
        if self.bench is not None:
            payload["steps"] = [self.bench.pool_step(step) for step in payload["steps"]]
        return _structured(await client.call_tool("record_trajectory", payload))


async def run_methods(
    runner: Runner | Callable[[Method], Runner],
    methods: Sequence[Method],
    stream: Sequence[Slot],
    connect: ClientFactory,
) -> dict[str, list[TaskLog]]:
    """Each method on its own server connection (its own pool): one after the other with one runner, or
    all at once when given a runner per method (each with its own model, e.g. one core each)."""
    out: dict[str, list[TaskLog]] = {}

    async def one(method: Method, method_runner: Runner) -> None:
        async with connect(method) as client:
            out[method.name] = await method_runner.run_method(method, client, stream)

    if isinstance(runner, Runner):
        for method in methods:
            await one(method, runner)
        return out
    async with anyio.create_task_group() as group:
        for method in methods:
            group.start_soon(one, method, runner(method))
    return {m.name: out[m.name] for m in methods}


def was_recorded(task: TaskLog, flushed: set[tuple[Phase, int]]) -> bool:
    """Recorded at once, or buffered in a batch whose flush the log holds."""
    status = task.record.status
    return status in ("stored", "rejected") or (status == "buffered" and (task.phase, task.batch) in flushed)


def pool_file(out: Path, method: str) -> Path:
    """Each method's own pool inside the run folder, so methods never contaminate each other."""
    return (out / "pools" / f"{method.replace('@', '-k')}.duckdb").resolve()
