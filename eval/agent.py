"""The SEER agent loop as an MCP client: recall → prompt → model → one tool call, yielding typed steps.

The agent never touches the pool or the tools directly: it lists the server's tools, calls
``recall_experiences`` at the top of every step (methods without recall skip that phase), and
calls the chosen ToolQA tool over MCP with ``_meta["seer/session"]`` so each task has its own
tool state. Model-caused problems (unparsable output, unknown tools, tool errors) are data on the
step; the episode then halts (the paper's default) or feeds the error back (``on_error="feedback"``).
"""

from __future__ import annotations

import json
import re
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol

import anyio

from seer.eval import prompts
from seer.eval.calls import format_call, parse_call_args
from seer.eval.models.base import ContextOverflowError, Generation
from seer.pool.models import Order, Strategy, Term  # the wire types of recall_experiences, defined once
from seer.seer_mcp.protocol import META_KEY, tool_role
from seer.tools.errors import ToolError
from seer.tools.protocol import CALL_BEGIN, CALL_END, format_text_call, parse_text_call
from seer.tools.specs import SPECS_BY_NAME

POOL_TOOLS = frozenset({"recall_experiences", "record_trajectory", "forget_experience", "open_session"})
OBSERVATION_LIMIT = 2048
Mode = Literal["json", "text", "native"]
Layout = Literal["replace", "incremental"]


def is_task_tool(tool: Any) -> bool:
    """Whether the model may see and call a listed tool: a seer server declares each tool's role (task,
    memory, session, admin); of a server that declares none, every tool but the pool's known ones."""
    role = tool_role(getattr(tool, "meta", None))
    return role == "task" if role is not None else tool.name not in POOL_TOOLS


class ChatModel(Protocol):
    """The model contract of ``seer.eval.models`` (``generate`` bounded by ``max_tokens``)."""

    name: str

    def generate(self, messages: list[dict[str, Any]], *, schema: dict[str, Any] | None = None,
                 max_tokens: int = 512, stop: list[str] | None = None, temperature: float | None = None,
                 seed: int | None = None) -> Generation: ...


class McpClient(Protocol):
    """The part of ``mcp.Client`` the agent uses."""

    async def list_tools(self) -> Any: ...
    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        meta: Any = None) -> Any: ...


@dataclass
class RecallConfig:
    """How to call ``recall_experiences`` (server strategy, score terms, k)."""

    k: int = 4
    strategy: Strategy = "hybrid"
    terms: list[Term] | None = None
    order: Order = "ranked"
    max_per_template: int | None = None
    token_budget: int | None = None
    same_intent: bool = False  # only the task's intent: another domain's seeds never steer the model
    min_overlap: float | None = None  # only demonstrations of the same question type (see RecallRequest)
    fallback: Literal["nothing", "unseen_intent", "other_intents"] = "nothing"  # see RecallRequest.fallback
    # the type gate opens where the agent is weak: when nothing of the question's type passes and the
    # agent's own success rate on the intent, (successes + 1) / (judged tasks + 2) over its earlier tasks
    # (Agent.outcomes), is below this, recall again without min_overlap (other question types of the
    # intent; any intent's best for an intent the pool has never seen). None: the gate never opens
    open_below: float | None = None
    # replace: this step's top-k before the task (the paper's layout; changing demonstrations make llama.cpp
    # recompute the whole conversation); incremental: demonstrations stay where first shown and this
    # step's new ones join after the latest result, so the KV cache keeps everything before them
    layout: Layout = "replace"


@dataclass
class AgentConfig:
    max_steps: int = 6
    mode: Mode = "json"
    on_error: Literal["halt", "feedback"] = "halt"
    intent: Literal["llm", "server", "gold"] = "llm"
    recall: RecallConfig | None = field(default_factory=RecallConfig)  # None: no recall (ReAct)
    max_tokens: int = 256
    observation_limit: int = OBSERVATION_LIMIT
    # feedback: the step after an error samples at this temperature (seeded by task and step), since a
    # greedy small model tends to repeat the failed call word for word
    retry_temperature: float = 0.7
    # template set: "" the ToolQA prompts; "bench" the prompts for schema-described benchmark tools
    # (Python call syntax, ``templates/bench_*.md``)
    kit: str = ""
    preamble: str = ""  # bench kit: shown before the tool list (a domain policy)


@dataclass
class Recalled:
    id: str
    score: float
    s1: float
    s2: float
    s3: float
    demo_text: str = field(repr=False, default="")


@dataclass
class RecallPhase:
    """What one recall returned before a step (demonstrations with their score terms)."""

    steps_sent: int
    intent: str | None
    pool_size: int
    demos: list[Recalled]
    seconds: float


@dataclass
class IntentStep:
    intent: str | None
    source: str  # "llm" | "server" | "gold"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached_prompt_tokens: int = 0


@dataclass
class ActionStep:
    """One step: the recall phase, the model's call, the tool's observation (or the error)."""

    index: int
    recall: RecallPhase | None
    thought: str
    tool: str | None  # None when the model output could not be parsed into a call
    arguments: dict[str, Any]
    call_text: str
    ok: bool
    observation: str
    error: str | None = None  # "format" | "tool" | "context"
    raw: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    tool_s: float = 0.0
    cached_prompt_tokens: int = 0  # prompt tokens the model served from its KV cache

    new_demos: list[str] = field(default_factory=list, repr=False)  # incremental: shown first before it

    def as_pool_step(self) -> dict[str, Any]:
        """The step as ``recall_experiences``/``record_trajectory`` take it."""
        return {"tool": self.tool, "arguments": self.arguments, "ok": self.ok, "thought": self.thought,
                "observation": self.observation}


@dataclass
class FinalStep:
    answer: str | None
    halted: str  # "finish" | "error" | "max_steps"
    intent: str | None
    steps: list[ActionStep]
    recalled_ids: list[str]


AgentEvent = IntentStep | ActionStep | FinalStep


def text_of(result: Any) -> str:
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


def structured_of(result: Any) -> dict[str, Any]:
    """The JSON object a pool tool returned; raises RuntimeError when the server reported an error."""
    if result.is_error:
        raise RuntimeError(f"server error: {text_of(result)[:500]}")
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(text_of(result)))


class Agent:
    """Drives one model through a server's tools; ``run`` yields IntentStep, ActionSteps, FinalStep."""

    def __init__(self, client: McpClient, model: ChatModel, config: AgentConfig | None = None):
        self.client, self.model, self.config = client, model, config or AgentConfig()
        self.tools: list[dict[str, Any]] = []
        self.system = ""
        self.issues_sessions = False
        # intent -> (successes, judged tasks) of this agent's earlier tasks, set by its runner
        self.outcomes: dict[str, tuple[int, int]] = {}

    async def setup(self) -> Agent:
        """List the server's tools and build the static system prefix (once per run)."""
        listed = (await self.client.list_tools()).tools
        self.tools = [{"name": t.name, "description": t.description or "", "schema": t.input_schema,
                       "args": list((t.input_schema or {}).get("properties", {}))}
                      for t in listed if is_task_tool(t)]
        self.issues_sessions = any(t.name == "open_session" for t in listed)
        self.system = prompts.system_prompt(self.tools, self.config.mode, self.config.max_steps,
                                            kit=self.config.kit, preamble=self.config.preamble)
        return self

    async def on_tools(self, client: McpClient) -> Agent:
        """This agent on another tool view (a benchmark episode's own tools), with the same model, config
        and record of earlier outcomes (which ``open_below`` reads)."""
        other = Agent(client, self.model, self.config)
        other.outcomes = self.outcomes
        return await other.setup()

    async def run(self, question: str, *, task_id: str, gold_intent: str | None = None,
                  exclude_task_id: str | None = None,
                  session: str | None = None) -> AsyncIterator[AgentEvent]:
        """Solve one task: intent once, then up to ``max_steps`` of recall → model → tool. ``session``: a
        tool session opened by the caller (one per benchmark episode, kept across its turns)."""
        cfg, session = self.config, session or await self.open_session(task_id)
        intent_step = await self.classify(question, gold_intent)
        yield intent_step
        intent = intent_step.intent
        steps: list[ActionStep] = []
        recalled_ids: list[str] = []
        first: list[Recalled] = []  # the demonstrations shown before the task
        for index in range(1, cfg.max_steps + 1):
            recall = await self.recall(question, steps, intent, exclude_task_id)  # RECALL phase
            new: list[Recalled] = []
            if recall is not None:
                intent = intent or recall.intent
                recalled_ids += [d.id for d in recall.demos if d.id not in recalled_ids]
                if index == 1 or (cfg.recall is not None and cfg.recall.layout == "replace"):
                    first = recall.demos
                else:
                    new = self.unseen(recall.demos, first, steps)
            messages = prompts.task_messages(self.system, question, [d.demo_text for d in first], steps,
                                             [s.new_demos for s in steps] + [[d.demo_text for d in new]],
                                             kit=cfg.kit)
            retry = bool(steps) and not steps[-1].ok
            seed = zlib.crc32(f"{task_id}/{index}".encode()) if retry else None
            step = await self.act(index, messages, session, retry_seed=seed)
            step.recall, step.new_demos = recall, [d.demo_text for d in new]
            steps.append(step)
            yield step
            if step.ok and step.tool == "Finish":
                yield FinalStep(str(step.arguments.get("answer", "")), "finish", intent, steps, recalled_ids)
                return
            if not step.ok and (cfg.on_error == "halt" or step.error == "context"):
                break
        halted = "error" if steps and not steps[-1].ok else "max_steps"
        yield FinalStep(None, halted, intent, steps, recalled_ids)

    async def open_session(self, task_id: str) -> str:
        """A private tool session for one task: issued by the server when it offers ``open_session``
        (required over HTTP), else a fresh name of our own."""
        if self.issues_sessions:
            return str(structured_of(await self.client.call_tool("open_session", {}))["session"])
        return f"{task_id}-{uuid.uuid4().hex[:8]}"

    def unseen(self, demos: Sequence[Recalled], first: Sequence[Recalled],
               steps: Sequence[ActionStep]) -> list[Recalled]:
        """Incremental layout: this step's demonstrations not yet in the prompt, while at most k more
        than the first recall's have been shown (each costs its tokens once, then stays cached)."""
        shown = {d.demo_text for d in first} | {text for s in steps for text in s.new_demos}
        room = (self.config.recall.k if self.config.recall else 0) - sum(len(s.new_demos) for s in steps)
        return [d for d in demos if d.demo_text not in shown][: max(0, room)]

    async def classify(self, question: str, gold_intent: str | None) -> IntentStep:
        """Intent once per task: the caller's LLM over the 8 labels, the gold domain, or the server."""
        if self.config.intent == "gold":
            return IntentStep(gold_intent, "gold")
        if self.config.intent == "server":
            return IntentStep(None, "server")
        gen = await self._generate(prompts.intent_messages(self.system, question),
                                   schema=prompts.intent_schema(), max_tokens=24)
        try:
            label = json.loads(gen.text)["intent"]
            intent = label if label in prompts.INTENTS else None
        except (ValueError, KeyError, TypeError):
            intent = None  # malformed: let the server infer it
        return IntentStep(intent, "llm" if intent else "server", gen.prompt_tokens, gen.completion_tokens,
                          gen.latency_s, gen.cached_prompt_tokens)

    async def recall(self, question: str, steps: Sequence[ActionStep], intent: str | None,
                     exclude_task_id: str | None) -> RecallPhase | None:
        rc = self.config.recall
        if rc is None or rc.k == 0:
            return None
        start = time.perf_counter()
        sent = [s.as_pool_step() for s in steps if s.tool]
        args: dict[str, Any] = {"task": question, "steps_so_far": sent, "k": rc.k, "strategy": rc.strategy,
                                "order": rc.order}
        extra = {"intent": intent, "terms": rc.terms, "exclude_task_id": exclude_task_id,
                 "max_per_template": rc.max_per_template, "token_budget": rc.token_budget,
                 "same_intent": rc.same_intent or None, "min_overlap": rc.min_overlap,
                 "fallback": None if rc.fallback == "nothing" else rc.fallback}
        args |= {key: value for key, value in extra.items() if value is not None}
        out = structured_of(await self.client.call_tool("recall_experiences", args))
        gated_out = not out.get("experiences") and rc.min_overlap is not None
        if gated_out and self.weak(out.get("intent") or intent):
            opened = {key: value for key, value in args.items() if key != "min_overlap"}
            out = structured_of(await self.client.call_tool("recall_experiences",
                                                            opened | {"fallback": "unseen_intent"}))
        demos = [Recalled(e["id"], e["score"], e["s1"], e["s2"], e["s3"], e["demo_text"])
                 for e in out.get("experiences", [])]
        return RecallPhase(len(sent), out.get("intent"), int(out.get("pool_size", 0)), demos,
                           time.perf_counter() - start)

    def weak(self, intent: str | None) -> bool:
        """Whether the type gate opens for this intent (RecallConfig.open_below)."""
        rc = self.config.recall
        if rc is None or rc.open_below is None or intent is None:
            return False
        successes, judged = self.outcomes.get(intent, (0, 0))
        return (successes + 1) / (judged + 2) < rc.open_below

    async def act(self, index: int, messages: list[dict[str, Any]], session: str,
                  retry_seed: int | None = None) -> ActionStep:
        """Model → parsed call → tool over MCP; every model-caused failure becomes an error step.
        ``retry_seed``: the previous step failed, so sample (seeded) instead of decoding greedily."""
        decoding = self._decoding()
        if retry_seed is not None and self.config.retry_temperature > 0:
            decoding |= {"temperature": self.config.retry_temperature, "seed": retry_seed}
        try:
            gen = await self._generate(messages, **decoding)
        except ContextOverflowError as exc:
            return ActionStep(index, None, "", None, {}, "", False, f"Error: {exc}", "context")
        step = self.parse(index, gen)
        step.prompt_tokens, step.completion_tokens, step.latency_s = (
            gen.prompt_tokens, gen.completion_tokens, gen.latency_s)
        step.cached_prompt_tokens = gen.cached_prompt_tokens
        if step.tool is None:
            return step
        start = time.perf_counter()
        result = await self.client.call_tool(step.tool, step.arguments, meta={META_KEY: session})
        step.tool_s = time.perf_counter() - start
        step.ok = not result.is_error
        step.error = None if step.ok else "tool"
        step.observation = text_of(result)[: self.config.observation_limit]
        return step

    def _decoding(self) -> dict[str, Any]:
        mode, names = self.config.mode, [t["name"] for t in self.tools]
        if mode == "json":
            return {"schema": prompts.call_schema(names), "max_tokens": self.config.max_tokens}
        if mode == "text":
            return {"stop": [CALL_END], "max_tokens": self.config.max_tokens}
        native = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                                    "parameters": t["schema"]}} for t in self.tools]
        return {"tools": native, "max_tokens": self.config.max_tokens}

    async def _generate(self, messages: list[dict[str, Any]], **kwargs: Any) -> Generation:
        return await anyio.to_thread.run_sync(partial(self.model.generate, messages, **kwargs))

    def parse(self, index: int, gen: Generation) -> ActionStep:
        """The model's reply as a call, or an error step that says how to reply instead."""
        raw = gen.text or ""
        try:
            thought, tool, arguments = parse_reply(raw, self.config.mode, gen.tool_calls,
                                                   {t["name"] for t in self.tools},
                                                   {t["name"]: t["schema"] or {} for t in self.tools})
        except (ValueError, ToolError) as exc:
            return ActionStep(index, None, "", None, {}, " ".join(raw.split())[:200], False,
                              f"Error: {exc}"[: self.config.observation_limit], "format", raw)
        return ActionStep(index, None, thought, tool, arguments, call_text(tool, arguments), True, "",
                          None, raw)


_CALL_RE = re.compile(re.escape(CALL_BEGIN) + r"\s*(?P<call>.*?)\s*(?:" + re.escape(CALL_END)
                      + r"|$)", re.DOTALL)
_STEP_PREFIX = re.compile(r"^\s*Step\s*\d+\s*:\s*")


def parse_reply(raw: str, mode: Mode, tool_calls: list[dict[str, Any]] | None, names: set[str],
                schemas: dict[str, dict[str, Any]] | None = None) -> tuple[str, str, dict[str, Any]]:
    """(thought, tool, arguments) from a reply in ``mode``; raises ValueError/ToolError when malformed.
    A tool that is not a ToolQA tool but has a schema in ``schemas`` takes Python-style arguments."""
    if mode == "native":
        if not tool_calls:
            raise ValueError("no tool call in the reply: call exactly one tool")
        fn = tool_calls[0].get("function", tool_calls[0])
        arguments = fn.get("arguments") or {}
        arguments = json.loads(arguments) if isinstance(arguments, str) else dict(arguments)
        tool, thought = str(fn.get("name", "")), raw.strip()
    elif mode == "json":
        try:
            reply = json.loads(raw)
            thought, tool, args = str(reply.get("thought", "")), str(reply["tool"]), str(reply["args"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError('reply with one JSON object {"thought": ..., "tool": ..., "args": ...}') from exc
        if tool not in SPECS_BY_NAME and schemas and tool in schemas:  # a benchmark's function
            arguments = parse_call_args(args, schemas[tool])
        else:
            tool, arguments = parse_text_call(f"{tool}[{args}]")
    else:
        match = _CALL_RE.search(raw)
        body = match["call"] if match else raw.strip().splitlines()[-1] if raw.strip() else ""
        thought = _STEP_PREFIX.sub("", raw[: match.start()] if match else "").strip()
        tool, arguments = parse_text_call(body)
    if tool not in names:
        raise ValueError(f"unknown tool {tool!r}; valid tools: {', '.join(sorted(names))}")
    return " ".join(thought.split())[: prompts.THOUGHT_MAX], tool, arguments


def call_text(tool: str, arguments: dict[str, Any]) -> str:
    """``Tool[args]`` for history and demonstrations (``tool(k='v')`` for a benchmark's function)."""
    if tool not in SPECS_BY_NAME:
        return format_call(tool, arguments)
    return format_text_call(tool, arguments)
