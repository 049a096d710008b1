"""The agent loop against the real seer server (stdio, hash embedder) with a scripted model."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from seer.eval.agent import (
    ActionStep,
    Agent,
    AgentConfig,
    FinalStep,
    RecallConfig,
    parse_reply,
    structured_of,
)
from seer.eval.models.scripted import ScriptedModel
from seer.tools import ToolError

QUESTION = "What was the opening price of coffee on 2001-12-06?"
TOOLS = {"LoadDB", "FilterDB", "GetValue", "Finish", "Calculate", "EdgeCheck"}


def server_params(corpus: Path, pool: Path) -> StdioServerParameters:
    env = {k: os.environ[k] for k in ("SEER_HOME", "PYTHONPATH") if k in os.environ}
    return StdioServerParameters(
        command=sys.executable,
        env=env,
        args=["-m", "seer.seer_mcp.cli", "--corpus", str(corpus), "--pool", str(pool), "--embedder", "hash"],
    )


class Spy:
    """Delegates to an MCP client and remembers every tool call (name, arguments, meta)."""

    def __init__(self, client: Any):
        self.client = client
        self.calls: list[tuple[str, dict[str, Any], Any]] = []

    async def list_tools(self) -> Any:
        return await self.client.list_tools()

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *, meta: Any = None) -> Any:
        self.calls.append((name, dict(arguments or {}), meta))
        return await self.client.call_tool(name, arguments, meta=meta)


@asynccontextmanager
async def connect(corpus: Path, pool: Path) -> AsyncIterator[Spy]:
    async with Client(server_params(corpus, pool)) as client:
        yield Spy(client)


def _user(messages: list[dict[str, Any]]) -> str:
    """Everything the user side said (task, then one result turn per step)."""
    return "\n".join(str(m["content"]) for m in messages if m["role"] == "user")


def solver(wrong: Callable[[str], bool] = lambda q: False, column: str = "Open") -> Callable[..., str]:
    """A scripted model that solves coffee price questions: LoadDB → FilterDB → GetValue → Finish."""

    def reply(messages: list[dict[str, Any]]) -> str:
        user = _user(messages)
        if user.startswith("Classify"):
            return '{"intent": "coffee"}'
        question = re.search(r"Question: (.*)", user.split("Now solve this question.")[-1])
        assert question is not None
        date = re.search(r"\d{4}-\d{2}-\d{2}", question.group(1))
        step = int(re.findall(r"Give step (\d+)", user)[-1])
        if step == 1:
            return json.dumps({"thought": "Load the coffee table.", "tool": "LoadDB", "args": "coffee"})
        if step == 2:
            return json.dumps(
                {
                    "thought": "Keep the day.",
                    "tool": "FilterDB",
                    "args": f"Date={date.group() if date else ''}",
                }
            )
        if step == 3:
            return json.dumps({"thought": "Read the price.", "tool": "GetValue", "args": column})
        value = re.findall(r"Result 3: (.*)", user)[-1].strip()
        answer = "0" if wrong(question.group(1)) else value
        return json.dumps({"thought": "Done.", "tool": "Finish", "args": answer})

    return reply


async def collect(agent: Agent, question: str = QUESTION, task_id: str = "q1") -> list[Any]:
    return [
        e async for e in agent.run(question, task_id=task_id, gold_intent="coffee", exclude_task_id=task_id)
    ]


def coffee_record(date: str, value: str, qid: str) -> dict[str, Any]:
    steps = [
        {
            "thought": "Load the coffee table.",
            "tool": "LoadDB",
            "arguments": {"target_db": "coffee"},
            "observation": "loaded",
            "ok": True,
        },
        {
            "thought": "Keep the day.",
            "tool": "FilterDB",
            "arguments": {"condition": f"Date={date}"},
            "observation": "filtered",
            "ok": True,
        },
        {
            "thought": "Read the price.",
            "tool": "GetValue",
            "arguments": {"column": "Open"},
            "observation": value,
            "ok": True,
        },
        {
            "thought": "Done.",
            "tool": "Finish",
            "arguments": {"answer": value},
            "observation": value,
            "ok": True,
        },
    ]
    return {
        "task": f"What was the opening price of coffee on {date}?",
        "steps": steps,
        "final_answer": value,
        "success": True,
        "judge": "exact_match",
        "intent": "coffee",
        "source_task_id": qid,
    }


def test_parse_reply_modes() -> None:
    assert parse_reply(
        '{"thought": "t", "tool": "FilterDB", "args": "Date=2001-12-06, Open>1"}', "json", None, TOOLS
    ) == ("t", "FilterDB", {"condition": "Date=2001-12-06, Open>1"})
    assert parse_reply('{"thought": "", "tool": "EdgeCheck", "args": "PaperNet, A, B"}', "json", None, TOOLS)[
        2
    ] == {"graph": "PaperNet", "node1": "A", "node2": "B"}
    assert parse_reply("Step 2: Load it. <CALL_BEGIN>LoadDB[coffee]", "text", None, TOOLS) == (
        "Load it.",
        "LoadDB",
        {"target_db": "coffee"},
    )
    assert parse_reply(
        "ok", "native", [{"function": {"name": "Calculate", "arguments": '{"expression": "1+1"}'}}], TOOLS
    )[1:] == ("Calculate", {"expression": "1+1"})
    for bad, mode in (
        ("no json", "json"),
        ('{"tool": "Nope", "args": "x"}', "json"),
        ("<CALL_BEGIN>LoadDB coffee<CALL_END>", "text"),
        ("", "text"),
    ):
        with pytest.raises((ValueError, ToolError)):
            parse_reply(bad, mode, None, TOOLS)  # type: ignore[arg-type]


def test_recall_before_every_step_hybrid(real_corpus: Path, tmp_path: Path) -> None:
    model = ScriptedModel(solver())

    async def main() -> list[Any]:
        async with connect(real_corpus, tmp_path / "pool.duckdb") as spy:
            stored = structured_of(
                await spy.call_tool("record_trajectory", coffee_record("2014-11-24", "190.5", "s1"))
            )
            assert stored["stored"]
            spy.calls.clear()
            agent = await Agent(spy, model, AgentConfig(intent="llm")).setup()
            events = await collect(agent)
            return [events, spy.calls, stored["id"]]

    events, calls, stored_id = anyio.run(main)
    names = [c[0] for c in calls]
    assert names == [
        "open_session",  # a private tool session, issued by the server
        "recall_experiences",
        "LoadDB",
        "recall_experiences",
        "FilterDB",
        "recall_experiences",
        "GetValue",
        "recall_experiences",
        "Finish",
    ]
    recalls = [c[1] for c in calls if c[0] == "recall_experiences"]
    assert [len(r["steps_so_far"]) for r in recalls] == [
        0,
        1,
        2,
        3,
    ]  # hybrid: nothing at step 1, then the partial
    assert recalls[1]["steps_so_far"][0]["tool"] == "LoadDB" and recalls[2]["steps_so_far"][1]["ok"] is True
    assert all(r["strategy"] == "hybrid" and r["k"] == 4 and r["exclude_task_id"] == "q1" for r in recalls)
    assert all(r["intent"] == "coffee" for r in recalls)
    tool_metas = {json.dumps(c[2]) for c in calls if c[0] not in ("recall_experiences", "open_session")}
    assert len(tool_metas) == 1 and "seer/session" in next(iter(tool_metas))
    assert calls[0][2] is None and json.loads(next(iter(tool_metas)))["seer/session"] != "q1"
    final = events[-1]
    assert isinstance(final, FinalStep) and final.halted == "finish" and final.answer == "42.75"
    assert final.recalled_ids == [stored_id]
    steps = [e for e in events if isinstance(e, ActionStep)]
    assert all(s.recall is not None and [d.id for d in s.recall.demos] == [stored_id] for s in steps)
    prompts = [p for p in model.prompts if not _user(p).startswith("Classify")]
    assert "2014-11-24" in _user(prompts[0])  # the demonstration is in the prompt
    assert len({p[0]["content"] for p in model.prompts}) == 1  # static system prefix, byte-identical
    assert _user(prompts[0]).index("2014-11-24") < _user(prompts[0]).index(QUESTION)


def test_react_has_no_recall_and_malformed_output_is_an_error_step(real_corpus: Path, tmp_path: Path) -> None:
    model = ScriptedModel(["I think the answer is 42", "not json"])

    async def main() -> tuple[list[Any], list[Any]]:
        async with connect(real_corpus, tmp_path / "pool.duckdb") as spy:
            agent = await Agent(spy, model, AgentConfig(recall=None, intent="server")).setup()
            events = await collect(agent)
            return events, spy.calls

    events, calls = anyio.run(main)
    assert [c[0] for c in calls] == ["open_session"]  # no recall, and the unparsable reply called no tool
    step, final = events[1], events[2]
    assert isinstance(step, ActionStep) and step.error == "format" and not step.ok and step.tool is None
    assert isinstance(final, FinalStep) and final.halted == "error" and final.answer is None
    assert model.remaining == 1  # halted after the first error (the paper's default)


def call(tool: str, args: str) -> str:
    return json.dumps({"thought": f"Use {tool}.", "tool": tool, "args": args})


def test_feedback_mode_shows_errors_and_continues(real_corpus: Path, tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            "garbage",
            call("GetValue", "Open"),
            call("LoadDB", "coffee"),
            call("FilterDB", "Date=2001-12-06"),
            call("GetValue", "Open"),
            call("Finish", "42.75"),
        ]
    )

    async def main() -> list[Any]:
        async with connect(real_corpus, tmp_path / "pool.duckdb") as spy:
            agent = await Agent(
                spy, model, AgentConfig(recall=None, intent="server", on_error="feedback")
            ).setup()
            return await collect(agent)

    events = anyio.run(main)
    steps = [e for e in events if isinstance(e, ActionStep)]
    assert [s.error for s in steps[:2]] == ["format", "tool"]  # GetValue before LoadDB is a tool error
    assert steps[0].observation.startswith("Error") and steps[1].observation
    assert "Result 1: Error" in _user(model.prompts[1])  # the error was fed back
    final = events[-1]
    assert isinstance(final, FinalStep) and final.halted == "finish" and final.answer == "42.75"
    assert len(steps) == 6 and model.remaining == 0


def test_tool_error_halts_by_default(real_corpus: Path, tmp_path: Path) -> None:
    model = ScriptedModel([json.dumps({"thought": "x", "tool": "GetValue", "args": "Open"}), "unused"])

    async def main() -> list[Any]:
        async with connect(real_corpus, tmp_path / "pool.duckdb") as spy:
            agent = await Agent(spy, model, AgentConfig(recall=RecallConfig(k=2), intent="server")).setup()
            return await collect(agent)

    events = anyio.run(main)
    step, final = events[1], events[2]
    assert isinstance(step, ActionStep) and step.error == "tool" and step.tool == "GetValue"
    assert step.recall is not None and step.recall.demos == [] and step.recall.intent  # server inferred it
    assert isinstance(final, FinalStep) and final.halted == "error" and model.remaining == 1


def test_text_protocol_mode(real_corpus: Path, tmp_path: Path) -> None:
    def reply(messages: list[dict[str, Any]]) -> str:
        data = json.loads(solver()(messages))
        n = int(re.findall(r"Give step (\d+)", _user(messages))[-1])
        return f"Step {n}: {data['thought']} <CALL_BEGIN>{data['tool']}[{data['args']}]<CALL_END> trailing"

    model = ScriptedModel(reply)

    async def main() -> list[Any]:
        async with connect(real_corpus, tmp_path / "pool.duckdb") as spy:
            agent = await Agent(spy, model, AgentConfig(mode="text", recall=None, intent="server")).setup()
            return await collect(agent)

    events = anyio.run(main)
    assert events[-1].answer == "42.75"
    assert model.calls[0].stop == ["<CALL_END>"] and model.calls[0].schema is None
