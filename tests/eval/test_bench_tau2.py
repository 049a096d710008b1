"""τ²-bench through MCP with a scripted model and a scripted customer: the reward is τ²'s own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("tau2", reason="τ²-bench is an extra: pip install 'seer-mcp[bench]'")

from seer.eval.benchmarks import load_benchmark  # noqa: E402
from seer.eval.benchmarks.base import routed  # noqa: E402
from seer.eval.benchmarks.tau2 import Tau2Benchmark  # noqa: E402
from seer.eval.benchmarks.tau2.env import find_task  # noqa: E402
from seer.eval.models.scripted import ScriptedModel  # noqa: E402
from seer.eval.run_bench import BenchConfig, execute  # noqa: E402
from seer.eval.runlog import BatchLog, TaskLog  # noqa: E402

TASK = "19"  # airline: one gold action, cancel_reservation


class ScriptedCustomer:
    """Says its request once, then stops (τ²'s ###STOP### token)."""

    def __init__(self, task: Any):
        self.turns = ["Please cancel my reservation.", "Thanks. ###STOP###"]

    def get_init_state(self) -> list[str]:
        return []

    def generate_next_message(self, message: Any, state: list[str]) -> tuple[Any, list[str]]:
        from tau2.data_model.message import UserMessage

        state.append(str(message.content))
        return UserMessage(role="user", content=self.turns[min(len(state), len(self.turns)) - 1]), state


def _gold_replies() -> list[str]:
    action = find_task("airline", TASK).evaluation_criteria.actions[0]
    args = ", ".join(f"{k}={v!r}" for k, v in action.arguments.items())
    return [json.dumps({"thought": "Cancel it.", "tool": action.name, "args": args}),
            json.dumps({"thought": "Tell the customer.", "tool": "Finish",
                        "args": "Your reservation is cancelled."})]


def _run(tmp_path: Path, replies: list[str]) -> list[Any]:
    bench = Tau2Benchmark(ids=[TASK], user_model="scripted")
    bench.user = ScriptedCustomer
    config = BenchConfig(run="t", bench="tau2", options={"ids": [TASK], "user_model": "scripted"},
                         methods=["query"], limit=None, batches=1, embedder="hash", model="scripted")
    model = ScriptedModel(replies)
    log = anyio.run(lambda: execute(config, tmp_path, model=model, bench=bench))
    assert model.remaining == 0
    return log.read()


def test_domain_tools_are_listed_over_mcp() -> None:
    bench = load_benchmark("tau2", ids=[TASK])

    async def go() -> list[str]:
        async with routed(bench, None) as client:
            session, names = await client.start(TASK)
            listed = [t.name for t in (await client.view(names).list_tools()).tools]
            await client.end(session)
            return listed

    listed = anyio.run(go)
    assert {"get_user_details", "cancel_reservation", "book_reservation", "Finish"} <= set(listed)
    assert "episode_start" not in listed and "recall_experiences" not in listed


def test_a_call_the_domain_refuses_is_a_tool_error() -> None:
    """τ² returns a refused call as text ("Error: User customer not found"); over MCP it is an error, so
    the step fails and is never recorded as a demonstration."""
    bench = load_benchmark("tau2", ids=[TASK])

    async def go() -> tuple[Any, Any]:
        async with routed(bench, None) as client:
            session, names = await client.start(TASK)
            view = client.view(names)
            meta = {"seer/session": session}
            known = find_task("airline", TASK).user_scenario.instructions.known_info
            user_id = re.search(r"user id is (\w+)", known).group(1)  # type: ignore[union-attr]
            bad = await view.call_tool("get_user_details", {"user_id": "customer"}, meta=meta)
            good = await view.call_tool("get_user_details", {"user_id": user_id}, meta=meta)
            await client.end(session)
            return bad, good

    bad, good = anyio.run(go)
    assert bad.is_error and "get_user_details: User customer not found" in bad.content[0].text
    assert not good.is_error


def test_a_reward_one_episode_is_recorded_with_judge_env(tmp_path: Path) -> None:
    lines = _run(tmp_path, _gold_replies())
    task = next(x for x in lines if isinstance(x, TaskLog))
    assert task.em and task.verdict.kind == "env" and task.verdict.detail.startswith("reward 1")
    assert task.question == "Please cancel my reservation."  # recorded under what the customer asked
    assert [s.tool for s in task.steps] == ["cancel_reservation", "Finish"]
    batch = next(x for x in lines if isinstance(x, BatchLog))
    assert len(batch.stored_ids) == 1


def test_an_episode_without_the_database_change_gets_reward_zero(tmp_path: Path) -> None:
    lines = _run(tmp_path, [_gold_replies()[1]])  # the agent only talks
    task = next(x for x in lines if isinstance(x, TaskLog))
    assert not task.em and task.verdict.detail.startswith("reward 0")
    assert task.record.status == "skipped"
    assert next(x for x in lines if isinstance(x, BatchLog)).stored_ids == []
