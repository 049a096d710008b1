"""The benchmark plug-in interface: data (tasks) + tools (an MCP server) + checker (an episode's verdict).

The runner, methods, protocols, run logs, resume and reports are ToolQA's (``seer.eval.runner``,
``seer.eval.methods``); a plug-in only says which tasks there are, how its tool server starts, and how
one episode runs on the shared agent loop and is scored by the benchmark's own checker. The agent
reaches the benchmark's tools and seer's recall/record through one :class:`RoutedClient` over the two
MCP servers.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from seer.eval.agent import ActionStep, Agent, FinalStep, IntentStep, McpClient, is_task_tool, structured_of
from seer.eval.judges import Verdict


class BenchmarkMissingError(RuntimeError):
    """The benchmark's package is not installed; the message says how to install it."""


SEER_TOOLS = frozenset({"recall_experiences", "record_trajectory"})


@dataclass(frozen=True)
class BenchTask:
    """One task of a benchmark stream (the fields the runner reads from a ToolQA question, plus data)."""

    qid: str
    question: str  # what recall and the run log see: the task's requests or scenario
    domain: str  # the intent label demonstrations are grouped by
    level: str = ""
    answer_text: str = ""  # a readable gold reference for the log (the checker decides)
    data: Any = field(default=None, compare=False, repr=False)


@dataclass
class Episode:
    """A finished episode: its steps over all turns (as one FinalStep) and the benchmark's verdict."""

    intent: IntentStep
    final: FinalStep
    verdict: Verdict
    question: str | None = None  # the task text to log and record, when it is known only after the episode


class Benchmark(Protocol):
    """A benchmark plug-in."""

    name: str

    def tasks(self) -> list[BenchTask]:
        """The tasks to run, in a fixed order (the runner shuffles and batches them)."""
        ...

    def server_command(self) -> tuple[str, list[str]]:
        """(executable, arguments) of the stdio MCP server publishing the benchmark's tools."""
        ...

    async def episode(self, agent: Agent, client: RoutedClient, task: BenchTask) -> Episode:
        """Run one task on the agent loop and score it with the benchmark's checker."""
        ...

    def pool_step(self, step: dict[str, Any]) -> dict[str, Any]:
        """A logged step as ``record_trajectory`` should store it (how demonstrations will show it)."""
        ...

    def preamble(self) -> str:
        """Text the agent sees before the tool list on every call (a domain policy; may be empty)."""
        ...


def server_command(name: str, options: str = "{}") -> tuple[str, list[str]]:
    return sys.executable, ["-m", "seer.eval.benchmarks.server", name, options]


class RoutedClient:
    """One MCP client over two servers: the benchmark's tools from ``tools``, recall/record from ``pool``
    (None: no pool, e.g. for react). ``visible`` narrows the listed tools to one task's."""

    def __init__(self, tools: McpClient, pool: McpClient | None, visible: frozenset[str] | None = None):
        self.tools, self.pool, self.visible = tools, pool, visible

    def view(self, names: Sequence[str]) -> RoutedClient:
        return RoutedClient(self.tools, self.pool, frozenset(names))

    async def list_tools(self) -> Any:
        listed = (await self.tools.list_tools()).tools
        mine = [t for t in listed if is_task_tool(t)
                and (self.visible is None or t.name in self.visible)]
        if self.pool is not None:
            mine += [t for t in (await self.pool.list_tools()).tools if t.name in SEER_TOOLS]
        return _Listed(mine)

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *, meta: Any = None) -> Any:
        if name in SEER_TOOLS:
            if self.pool is None:
                raise RuntimeError(f"{name}: this run has no experience pool")
            return await self.pool.call_tool(name, arguments)
        return await self.tools.call_tool(name, arguments, meta=meta)

    async def start(self, task_id: str) -> tuple[str, list[str]]:
        out = structured_of(await self.tools.call_tool("episode_start", {"task_id": task_id}))
        return str(out["session"]), [str(n) for n in out["tools"]]

    async def end(self, session: str) -> None:
        await self.tools.call_tool("episode_end", {"session": session})


@dataclass
class _Listed:
    tools: list[Any]


@asynccontextmanager
async def stdio_client(command: tuple[str, list[str]], env: dict[str, str] | None = None
                       ) -> AsyncIterator[McpClient]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    async with Client(StdioServerParameters(command=command[0], args=command[1], env=env)) as client:
        yield client


@asynccontextmanager
async def routed(bench: Benchmark, pool: Any,
                 env: dict[str, str] | None = None) -> AsyncIterator[RoutedClient]:
    """The benchmark's server plus (when given) a seer pool connection, as one client."""
    async with AsyncExitStack() as stack:
        tools = await stack.enter_async_context(stdio_client(bench.server_command(), env))
        pool_client = await stack.enter_async_context(pool) if pool is not None else None
        yield RoutedClient(tools, pool_client)


async def run_turn(agent: Agent, request: str, *, task_id: str, intent: str, exclude: str, session: str
                   ) -> tuple[IntentStep, FinalStep]:
    """One user turn on the shared agent loop (recall → model → tool until Finish)."""
    events = [e async for e in agent.run(request, task_id=task_id, gold_intent=intent,
                                         exclude_task_id=exclude, session=session)]
    intent_step = next(e for e in events if isinstance(e, IntentStep))
    final = events[-1]
    assert isinstance(final, FinalStep)
    return intent_step, final


def merge_turns(intent: IntentStep, finals: Sequence[FinalStep]) -> Episode:
    """All turns as one FinalStep (steps renumbered 1..n); the verdict is filled in by the caller."""
    steps: list[ActionStep] = []
    recalled: list[str] = []
    for final in finals:
        for step in final.steps:
            step.index = len(steps) + 1
            steps.append(step)
        recalled += [i for i in final.recalled_ids if i not in recalled]
    halted = next((f.halted for f in finals if f.halted != "finish"), "finish")
    answer = finals[-1].answer if finals else None
    final = FinalStep(answer, halted, intent.intent, steps, recalled)
    return Episode(intent, final, Verdict(False, "unset"))


def raw_arguments(step: dict[str, Any]) -> dict[str, Any]:
    """A benchmark step stored with its arguments as call text (``{"raw": "a='x', n=2"}``), so the pool
    renders the demonstration as ``tool[a='x', n=2]`` — the argument text the model is asked to write."""
    if step.get("tool") == "Finish":
        return step
    args = step.get("arguments") or {}
    return step | {"arguments": {"raw": ", ".join(f"{k}={v!r}" for k, v in args.items())}}
