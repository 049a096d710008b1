"""Prompt assembly for the agent: templates are package data (``seer/eval/templates/*.md``).

Layout, for llama.cpp's KV-cache reuse: a static system message (instructions, tool list, output
format; byte-identical for every call of a run), then the recalled demonstrations, then the task
and the steps taken so far. Steps and demonstrations share one text form,
``Step N: thought <CALL_BEGIN>Tool[args]<CALL_END>`` followed by ``Result N: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from string import Template
from typing import Any, Protocol

from seer.eval.calls import signature
from seer.pool.intent import TOOLQA_INTENTS

INTENTS = tuple(TOOLQA_INTENTS)
"""The closed ToolQA intent label set (the SEER paper's classifier labels)."""

THOUGHT_MAX = 120  # one short sentence: every generated token costs ~0.1 s on 2 CPU cores
ARGS_MAX = 600


@cache
def template(name: str) -> Template:
    """A template from ``seer/eval/templates/<name>.md`` (``$name`` placeholders)."""
    text = resources.files("seer.eval").joinpath(f"templates/{name}.md").read_text(encoding="utf-8")
    return Template(text)


def render(name: str, **values: Any) -> str:
    """Fill a template; every placeholder must be given."""
    return template(name).substitute(**values)


class StepView(Protocol):
    """What a prompt needs from a step (``seer.eval.agent.ActionStep`` satisfies it)."""

    index: int
    thought: str
    call_text: str
    observation: str
    raw: str


def tool_lines(tools: Sequence[Mapping[str, Any]]) -> str:
    """``- Name[arg1, arg2]: description`` for each tool, in the server's order."""
    lines = []
    for tool in tools:
        args = ", ".join(tool.get("args", ()))
        lines.append(f"- {tool['name']}[{args}]: {' '.join(str(tool.get('description', '')).split())}")
    return "\n".join(lines)


def signature_lines(tools: Sequence[Mapping[str, Any]]) -> str:
    """``- name(a: string, b: integer = None): description`` for schema-described (benchmark) tools."""
    return "\n".join(f"- {signature(t)}: {' '.join(str(t.get('description', '')).split())}" for t in tools)


def _kit(name: str, kit: str) -> str:
    return f"{kit}_{name}" if kit else name


def system_prompt(tools: Sequence[Mapping[str, Any]], mode: str, max_steps: int, kit: str = "",
                  preamble: str = "") -> str:
    """The static prefix: identical for every call with the same tools, mode and step limit. ``kit``
    names a template set (``bench``: ``bench_system.md`` etc., tools listed as Python signatures, after
    the ``preamble``)."""
    if not kit:
        return render("system", tools=tool_lines(tools), format=render(f"format_{mode}"), max_steps=max_steps)
    return render(_kit("system", kit), tools=signature_lines(tools),
                  format=render(_kit(f"format_{mode}", kit)), max_steps=max_steps,
                  preamble=f"{preamble.strip()}\n\n" if preamble.strip() else "")


def task_messages(system: str, question: str, demos: Sequence[str], steps: Sequence[StepView],
                  later_demos: Sequence[Sequence[str]] = (), kit: str = "") -> list[dict[str, str]]:
    """Chat messages for one step: static system prefix, demonstrations and task, then the steps so far
    as turns (the model's own reply, then the tool's result) — a small model that sees its earlier
    calls as its own turns repeats them far less than one reading them back as a text block.

    ``later_demos[i]`` are demonstrations first shown after step i's result (the incremental layout):
    they stay there in later prompts, so the conversation before them is never recomputed."""
    demo_block = render("demos", demos=_joined(demos)) if demos else ""
    user = render(_kit("task", kit), demos=demo_block, question=question, step=1)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    for i, step in enumerate(steps):
        shown = later_demos[i + 1] if i + 1 < len(later_demos) else ()
        messages.append({"role": "assistant", "content": step.raw or f"{step.thought} {step.call_text}"})
        messages.append({"role": "user", "content": render(
            _kit("result", kit), index=step.index, observation=step.observation, step=step.index + 1,
            demos=render("step_demos", demos=_joined(shown)) if shown else "")})
    return messages


def _joined(demos: Sequence[str]) -> str:
    return "\n\n".join(d.strip() for d in demos)


def call_schema(tool_names: Sequence[str]) -> dict[str, Any]:
    """JSON schema of one step for constrained decoding: a bounded thought, a tool enum, a flat args string.

    The arguments are one string in the text-protocol syntax (``Date=2001-12-06``, ``PaperNet, A, B``)
    rather than a ``oneOf`` of per-tool objects: the demonstrations show calls as ``Tool[args]``, so a
    1.5B model copies the argument text it sees; the grammar stays small; and multi-argument tools are
    split by ``seer.tools`` exactly as the paper's parser does.
    """
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": THOUGHT_MAX},
            "tool": {"type": "string", "enum": list(tool_names)},
            "args": {"type": "string", "maxLength": ARGS_MAX},
        },
        "required": ["thought", "tool", "args"],
        "additionalProperties": False,
    }


def intent_messages(system: str, question: str) -> list[dict[str, str]]:
    """The intent question after the same static system prefix (so llama.cpp keeps its KV cache)."""
    return [{"role": "system", "content": system},
            {"role": "user", "content": render("intent", question=question)}]


def intent_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {"intent": {"type": "string", "enum": list(INTENTS)}},
            "required": ["intent"], "additionalProperties": False}
