"""seer (the default; seer-adaptive in older runs): the type gate opens where the agent is weak. The
agent recalls again without the question-type filter only when the gated recall is empty and its own
record on the intent is poor; the runner gives it that record as of the last batch end, never counting
held-out test tasks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from seer.eval.agent import Agent, AgentConfig, FinalStep, RecallConfig
from seer.eval.judges import exact_match
from seer.eval.methods import METHODS
from seer.eval.models.scripted import ScriptedModel
from seer.eval.runlog import RecordLog, RunLog, StepLog, TaskLog, VerdictLog
from seer.eval.runner import Runner, RunSettings, Slot, make_stream, outcomes_by_intent
from seer.eval.toolqa.questions import Question

TOOLS = ["LoadDB", "Finish"]


class GatedServer:
    """Recall finds nothing of the question's type (min_overlap set) and one other-type demonstration
    without the filter, as a pool holding only another question type of the intent would."""

    def __init__(self) -> None:
        self.recall_args: list[dict[str, Any]] = []

    async def list_tools(self) -> Any:
        schema = {"type": "object", "properties": {"x": {"type": "string"}}}
        return SimpleNamespace(tools=[SimpleNamespace(name=n, description=n, input_schema=schema, meta=None)
                                      for n in [*TOOLS, "recall_experiences"]])

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *, meta: Any = None) -> Any:
        arguments = arguments or {}
        if name == "recall_experiences":
            self.recall_args.append(arguments)
            found = [] if "min_overlap" in arguments else [
                {"id": "other-type", "score": 0.9, "s1": 0.9, "s2": 0.0, "s3": 1.0,
                 "demo_text": "Question: what was the opening price?"}]
            return SimpleNamespace(is_error=False, structured_content={
                "experiences": found, "pool_size": 9, "intent": "coffee"})
        return SimpleNamespace(is_error=False, structured_content=None,
                               content=[SimpleNamespace(type="text", text=f"{name} done")])


Outcomes = dict[str, tuple[int, int]]


def solve(outcomes: Outcomes, open_below: float | None = 0.5) -> tuple[GatedServer, FinalStep]:
    server = GatedServer()
    model = ScriptedModel([json.dumps({"thought": "t", "tool": t, "args": "a"}) for t in TOOLS])
    recall = RecallConfig(k=2, strategy="blend", layout="incremental", same_intent=True, min_overlap=0.85,
                          open_below=open_below)

    async def go() -> FinalStep:
        agent = await Agent(server, model, AgentConfig(intent="server", recall=recall)).setup()
        agent.outcomes = outcomes
        events = [e async for e in agent.run("What was the lowest price of coffee?", task_id="q")]
        assert isinstance(events[-1], FinalStep)
        return events[-1]

    return server, anyio.run(go)


@pytest.mark.parametrize(("outcomes", "opens"), [
    ({"coffee": (0, 1)}, True),  # one failure: (0 + 1) / (1 + 2) = 0.33 < 0.5
    ({"coffee": (1, 4)}, True),
    ({"coffee": (2, 2)}, False),
    ({"coffee": (3, 4)}, False),
    ({}, False),  # no record yet: 0.5, the model on its own first
    ({"flight": (0, 9)}, False),  # another intent's record says nothing about this one
])
def test_the_gate_opens_only_for_a_weak_intent(outcomes: Outcomes, opens: bool) -> None:
    server, final = solve(outcomes)
    first = final.steps[0].recall
    assert first is not None
    assert [d.id for d in first.demos] == (["other-type"] if opens else [])
    gated = [a for a in server.recall_args if "min_overlap" in a]
    opened = [a for a in server.recall_args if "min_overlap" not in a]
    assert len(gated) == 2  # every step asks for the question's own type first
    assert len(opened) == (2 if opens else 0)
    assert all(a["fallback"] == "unseen_intent" and a["same_intent"] for a in opened)


def test_without_open_below_the_gate_stays_shut() -> None:
    server, final = solve({"coffee": (0, 9)}, open_below=None)
    assert all("min_overlap" in a for a in server.recall_args) and final.recalled_ids == []
    assert METHODS["seer-gated"].recall is not None and METHODS["seer-gated"].recall.open_below is None
    adaptive = METHODS["seer"].recall  # the default opens the gate where the agent is weak
    assert adaptive is not None and adaptive.open_below == 0.5 and adaptive.min_overlap == 0.85


def _task(slot: Slot, success: bool, intent: str) -> TaskLog:
    return TaskLog(method="seer", phase=slot.phase, batch=slot.batch, qid=slot.question.qid,
                   domain=slot.question.domain, level="easy", question=slot.question.question,
                   intent=intent, answer="x", gold="y", halted="finish", em=success,
                   verdict=VerdictLog(success=success, kind="exact_match"),
                   steps=[StepLog(index=1, tool="Finish")],
                   record=RecordLog(status="skipped", reason="scripted"))


class TallyRunner(Runner):
    """Solves nothing: logs scripted verdicts and notes the record the agent held for each batch."""

    def __init__(self, log: RunLog, verdicts: dict[str, bool]):
        super().__init__(ScriptedModel([]), exact_match(), log,
                         RunSettings(agent=AgentConfig(intent="server")))
        self.verdicts = verdicts
        self.seen: list[tuple[str, int, Outcomes]] = []

    async def solve_batch(self, agent: Agent, client: Any, method: Any, slots: Sequence[Slot],
                          done: dict[str, TaskLog]) -> None:
        if slots:
            self.seen.append((slots[0].phase, slots[0].batch, dict(agent.outcomes)))
        for slot in slots:
            done[slot.question.qid] = _task(slot, self.verdicts[slot.question.qid], slot.question.domain)
            self.log.append(done[slot.question.qid])


def _questions() -> list[Question]:
    return [Question(qid=f"q{i}", question=f"question {i}", answer="y",
                     domain="coffee" if i % 2 else "flight", level="easy") for i in range(8)]


def test_the_runner_gives_the_agent_its_record_at_batch_ends(tmp_path: Path) -> None:
    questions = _questions()
    verdicts = {q.qid: q.domain == "coffee" and q.qid != "q1" for q in questions}
    stream = make_stream(questions, protocol="online", batches=2, seed=0)
    runner = TallyRunner(RunLog(tmp_path / "runlog.jsonl"), verdicts)
    anyio.run(runner.run_method, METHODS["seer"], GatedServer(), stream)
    first_batch = [s.question.qid for s in stream if s.batch == 1]
    assert [(phase, batch) for phase, batch, _ in runner.seen] == [("online", 1), ("online", 2)]
    assert runner.seen[0][2] == {}  # nothing judged before the first batch
    assert runner.seen[1][2] == outcomes_by_intent([t for t in runner.log.tasks() if t.qid in first_batch])


def test_heldout_test_tasks_never_count(tmp_path: Path) -> None:
    questions = _questions()
    stream = make_stream(questions, protocol="heldout", batches=2, seed=0)
    runner = TallyRunner(RunLog(tmp_path / "runlog.jsonl"), {q.qid: True for q in questions})
    anyio.run(runner.run_method, METHODS["seer"], GatedServer(), stream)
    train = [t for t in runner.log.tasks() if t.phase == "train"]
    records = [outcomes for phase, _, outcomes in runner.seen if phase == "test"]
    assert records and all(r == outcomes_by_intent(train) for r in records)  # frozen with the pool
    assert sum(judged for _, judged in records[0].values()) == len(train)
