"""Prompt layouts: incremental keeps every earlier message byte-identical (llama.cpp's KV cache survives
stepwise recall); replace re-renders this step's demonstrations before the task (the paper's)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from seer.eval.agent import Agent, AgentConfig, FinalStep, RecallConfig
from seer.eval.models.scripted import ScriptedModel

TOOLS = ["LoadDB", "FilterDB", "GetValue", "Finish"]


class FakeServer:
    """An MCP client stand-in whose recall returns a different top-k as the trajectory grows."""

    def __init__(self, recalls: list[list[str]], failing: str = ""):
        self.recalls, self.failing = recalls, failing
        self.recall_args: list[dict[str, Any]] = []

    async def list_tools(self) -> Any:
        schema = {"type": "object", "properties": {"x": {"type": "string"}}}
        return SimpleNamespace(tools=[SimpleNamespace(name=n, description=n, input_schema=schema)
                                      for n in [*TOOLS, "recall_experiences"]])

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *, meta: Any = None) -> Any:
        arguments = arguments or {}
        if name == "recall_experiences":
            self.recall_args.append(arguments)
            ids = self.recalls[min(len(arguments["steps_so_far"]), len(self.recalls) - 1)]
            found = [{"id": i, "score": 1.0, "s1": 1.0, "s2": 0.0, "s3": 1.0,
                      "demo_text": f"Question: demo {i}"} for i in ids]
            return SimpleNamespace(is_error=False, structured_content={"experiences": found, "pool_size": 9})
        return SimpleNamespace(is_error=name == self.failing, structured_content=None,
                               content=[SimpleNamespace(type="text", text=f"{name} done")])


def run(layout: str, recalls: list[list[str]], k: int = 2,
        **options: Any) -> tuple[ScriptedModel, FakeServer, FinalStep]:
    replies = [json.dumps({"thought": "t", "tool": t, "args": "a"}) for t in TOOLS]
    model, server = ScriptedModel(replies), FakeServer(recalls)
    recall = RecallConfig(k=k, strategy="blend", layout=layout, same_intent=True,  # type: ignore[arg-type]
                          **options)
    config = AgentConfig(intent="server", recall=recall)

    async def go() -> FinalStep:
        agent = await Agent(server, model, config).setup()
        events = [e async for e in agent.run("What was the price?", task_id="q")]
        final = events[-1]
        assert isinstance(final, FinalStep)
        return final

    return model, server, anyio.run(go)


def user_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


RECALLS = [["a", "b"], ["a", "c"], ["d", "c"], ["e", "f"]]


def test_incremental_layout_only_appends() -> None:
    model, server, final = run("incremental", RECALLS)
    prompts = model.prompts
    assert final.halted == "finish" and len(prompts) == 4
    for before, after in zip(prompts, prompts[1:], strict=False):
        assert after[: len(before)] == before  # every earlier message unchanged: a pure extension
    last = user_text(prompts[-1])
    # each shown once, at most k=2 more than the first recall's
    assert [last.count(f"demo {i}") for i in "abcdef"] == [1, 1, 1, 1, 0, 0]
    assert last.index("demo a") < last.index("What was the price?") < last.index("demo c")
    assert last.index("demo c") < last.index("demo d")
    assert [s.new_demos for s in final.steps] == [[], ["Question: demo c"], ["Question: demo d"], []]
    assert all(a.get("same_intent") is True for a in server.recall_args)


def test_the_recall_fallback_reaches_the_server_only_when_set() -> None:
    _, plain, _ = run("incremental", RECALLS)
    assert all("fallback" not in a for a in plain.recall_args)  # the server's default: nothing
    _, other, _ = run("incremental", RECALLS, fallback="other_intents", min_overlap=0.85)
    assert all(a["fallback"] == "other_intents" and a["min_overlap"] == 0.85 for a in other.recall_args)
    from seer.eval.methods import METHODS

    seer_other = METHODS["seer-other"].recall
    assert seer_other is not None and seer_other.fallback == "other_intents" and seer_other.same_intent


def test_replace_layout_shows_this_steps_top_k_before_the_task() -> None:
    model, _, _ = run("replace", RECALLS)
    for prompt, ids in zip(model.prompts, RECALLS, strict=True):
        head = prompt[1]["content"].split("What was the price?")[0]
        assert [i for i in "abcdef" if f"demo {i}" in head] == sorted(ids)
        assert "Examples like this step" not in user_text(prompt)
    assert model.prompts[1][:2] != model.prompts[0][:2]  # the demonstrations changed: no shared prefix


@pytest.mark.parametrize("layout", ["incremental", "replace"])
def test_unchanged_recall_gives_identical_prefixes(layout: str) -> None:
    model, _, _ = run(layout, [["a", "b"]])
    for before, after in zip(model.prompts, model.prompts[1:], strict=False):
        assert after[: len(before) - 1] == before[:-1]


def test_feedback_retries_sample_seeded_after_an_error() -> None:
    tools = ["LoadDB", "FilterDB", "FilterDB", "GetValue", "Finish"]
    replies = [json.dumps({"thought": "t", "tool": t, "args": "a"}) for t in tools]
    model, server = ScriptedModel(replies), FakeServer([["a"]], failing="FilterDB")
    config = AgentConfig(intent="server", on_error="feedback", recall=None)

    async def go() -> list[Any]:
        agent = await Agent(server, model, config).setup()
        return [e async for e in agent.run("What was the price?", task_id="q")]

    final = anyio.run(go)[-1]
    assert isinstance(final, FinalStep) and final.halted == "finish"
    assert [c.temperature for c in model.calls] == [None, None, 0.7, 0.7, None]  # after each failed FilterDB
