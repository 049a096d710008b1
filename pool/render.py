"""Text forms of steps: the reference `Step N: thought <CALL_BEGIN>Tool[args]<CALL_END>` protocol,
demonstration text (long retrieval results replaced by a placeholder) and abstract tool chains.

A demonstration is data shown to another agent, so its text is made inert (`neutralise`): control and
invisible format characters go, chat-template role markers and the call markers are replaced, and lines
that would pose as demonstration structure (``Question:``, ``Step N:``, ``Result N:``, role headers) are
quoted with ``> ``. Thoughts and answers are bounded. Benign trajectories render exactly as before."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from seer.pool.models import Step
from seer.tools.protocol import CALL_BEGIN, CALL_END
from seer.tools.specs import TOOL_SPECS

OBSERVATION_LIMIT = 300  # demonstrations stay compact: prompt tokens dominate a small CPU model's cost
RETRIEVAL_PLACEHOLDER = "[retrieved passages omitted]"
RETRIEVAL_LIMIT = 200
DEMO_THOUGHT_LIMIT = 600  # the official seeds' longest thought is 420 characters
DEMO_ANSWER_LIMIT = 500
MARKER_PLACEHOLDER = "[marker removed]"

# ToolQA argument names, from the tool specs; multi-argument tools split their text on ", ".
TOOL_ARGUMENTS: dict[str, tuple[str, ...]] = {
    spec.name: tuple(spec.parameters.get("properties", {})) for spec in TOOL_SPECS
}

_STEP_RE = re.compile(
    rf"^\s*Step\s*(\d+)\s*:\s*(?P<thought>.*?)\s*{re.escape(CALL_BEGIN)}\s*(?P<tool>[A-Za-z_][\w]*)\[(?P<args>.*)\]"
    rf"\s*{re.escape(CALL_END)}\s*$",
    re.DOTALL,
)


def render_arguments(arguments: dict[str, Any]) -> str:
    """The text inside `Tool[...]`: the raw text, or the argument values joined by ", "."""
    if set(arguments) == {"raw"}:
        return str(arguments["raw"])
    return ", ".join(str(value) for value in arguments.values())


def parse_arguments(tool: str, text: str) -> dict[str, Any]:
    """Named arguments for a known ToolQA tool, else `{"raw": text}`; `render_arguments` inverts it."""
    names = TOOL_ARGUMENTS.get(tool)
    if not names:
        return {"raw": text}
    if len(names) == 1:
        return {names[0]: text}
    parts = text.split(", ", len(names) - 1)
    if len(parts) != len(names):
        return {"raw": text}
    return dict(zip(names, parts, strict=True))


def render_call(step: Step) -> str:
    """`<CALL_BEGIN>Tool[args]<CALL_END>`."""
    return f"{CALL_BEGIN}{step.tool}[{render_arguments(step.arguments)}]{CALL_END}"


def render_step(step: Step, number: int) -> str:
    """`Step N: thought <CALL_BEGIN>Tool[args]<CALL_END>` (the official library.json form)."""
    thought = f"{step.thought} " if step.thought else ""
    return f"Step {number}: {thought}{render_call(step)}"


def parse_step(text: str) -> Step:
    """Parse one `Step N: thought <CALL_BEGIN>Tool[args]<CALL_END>` line; raises ValueError."""
    match = _STEP_RE.match(text)
    if match is None:
        raise ValueError(f"not a 'Step N: thought <CALL_BEGIN>Tool[args]<CALL_END>' line: {text[:80]!r}")
    tool = match["tool"]
    return Step(thought=match["thought"], tool=tool, arguments=parse_arguments(tool, match["args"]))


def render_steps(steps: Sequence[Step]) -> str:
    """The trajectory text embedded as E_τ: thoughts and calls, no observations."""
    return "\n".join(render_step(step, i) for i, step in enumerate(steps, 1))


def demo_observation(step: Step) -> str:
    """The observation as shown in a demonstration: long retrieval results become a placeholder."""
    obs = step.observation
    if step.tool.startswith("Retrieve") and len(obs) > RETRIEVAL_LIMIT:
        return RETRIEVAL_PLACEHOLDER
    return obs if len(obs) <= OBSERVATION_LIMIT else obs[:OBSERVATION_LIMIT] + " ..."


_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]"
                        r"|[\U000e0000-\U000e007f]")
_ROLE_MARKERS = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|\[/?INST\]|<</?SYS>>|</s>|<(?:start|end)_of_turn>")
_CALL_MARKERS = re.compile(re.escape(CALL_BEGIN) + "|" + re.escape(CALL_END))
_STRUCTURE_LINE = re.compile(
    r"^(?=[ \t]*(?:Question|Step[ \t]*\d+|Result[ \t]*\d+|System|Assistant|User|Human)[ \t]*:)",
    re.IGNORECASE | re.MULTILINE,
)


def neutralise(text: str) -> str:
    """Text made inert for a demonstration: line breaks of every kind become \\n, control and invisible
    format characters (bidi overrides, zero-width space, tag characters) are dropped (\\t and \\n stay),
    chat-template role markers become a placeholder, call markers lose their angle brackets, and lines that
    begin like demonstration structure are quoted with ``> ``. Identity on ordinary tool output."""
    text = _INVISIBLE.sub("", _LINE_BREAKS.sub("\n", text))
    text = _ROLE_MARKERS.sub(MARKER_PLACEHOLDER, text)
    text = _CALL_MARKERS.sub(lambda m: "[" + m.group(0)[1:-1] + "]", text)
    return _STRUCTURE_LINE.sub("> ", text)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _demo_step(step: Step, number: int) -> str:
    """`render_step` of a demonstration: every text neutralised, the thought and the answer bounded."""
    arguments = {name: neutralise(str(value)) for name, value in step.arguments.items()}
    if step.tool == "Finish":
        arguments = {name: _bounded(value, DEMO_ANSWER_LIMIT) for name, value in arguments.items()}
    shown = Step(thought=_bounded(neutralise(step.thought), DEMO_THOUGHT_LIMIT),
                 tool=neutralise(step.tool) or "?", arguments=arguments)
    return render_step(shown, number)


def render_demo(task: str, steps: Sequence[Step]) -> str:
    """A demonstration in the reference format: question, steps and (shortened) results, every text
    neutralised (see `neutralise`)."""
    lines = [f"Question: {neutralise(task)}"]
    for i, step in enumerate(steps, 1):
        lines.append(_demo_step(step, i))
        if step.observation:
            shown = step.model_copy(update={"observation": neutralise(step.observation)})
            lines.append(f"Result {i}: {demo_observation(shown)}")
    return "\n".join(lines)


def abstract_chain(tools: Sequence[str]) -> tuple[str, ...]:
    """The tool chain with consecutive repeats collapsed (GetValue, GetValue → GetValue)."""
    out: list[str] = []
    for tool in tools:
        if not out or out[-1] != tool:
            out.append(tool)
    return tuple(out)


def template_key(intent: str, tools: Sequence[str]) -> str:
    """Template of an experience: intent + abstract tool chain."""
    return intent + "|" + ">".join(abstract_chain(tools))


_WORD = re.compile(r"[A-Za-z]+")


def question_words(task: str) -> frozenset[str]:
    """The words that make a question's type: lower-case words (and the first word), without numbers,
    dates or capitalised names — "What was the lowest price of coffee on 2004-09-27?" keeps
    {what, was, the, lowest, price, of, coffee, on}."""
    words = _WORD.findall(task)
    return frozenset(w.lower() for i, w in enumerate(words) if i == 0 or not w[0].isupper())


def question_overlap(a: str, b: str) -> float:
    """Jaccard overlap of two questions' type words (1.0: the same question type)."""
    wa, wb = question_words(a), question_words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def normalise_task(task: str) -> str:
    """Lower-cased, punctuation-free, single-spaced task text for duplicate detection."""
    return " ".join(re.sub(r"[^\w\s]", " ", task.lower()).split())


def approx_tokens(text: str) -> int:
    """Approximate token count (about 4 characters per token)."""
    return (len(text) + 3) // 4
