"""Question templates: question text, answer function and an oracle tool-call chain.

A :class:`Template` turns sampled parameters into a question (``pattern.format(**params)``),
computes the exact answer from a domain's in-memory data, and writes the oracle chain of
tool calls (ending in ``Finish``) that reaches that answer with the ToolQA tools.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Call = tuple[str, dict[str, str]]
Answer = str | int | float


@dataclass(frozen=True)
class Template:
    """One ToolQA question template of one domain and level."""

    domain: str
    level: str
    name: str
    pattern: str
    sample: Callable[[Any, random.Random], dict[str, Any] | None]
    answer: Callable[[Any, dict[str, Any]], Answer | None]
    chain: Callable[[Any, dict[str, Any], Answer], list[Call]]

    def question(self, params: dict[str, Any]) -> str:
        return self.pattern.format(**params)

    def regex(self) -> re.Pattern[str]:
        """A regex with one named group per placeholder, to match official question text."""
        parts = re.split(r"\{(\w+)\}", self.pattern)
        out = []
        for i, part in enumerate(parts):
            out.append(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)")
        return re.compile("^" + "".join(out) + "$")

    def parse(self, question: str) -> dict[str, str] | None:
        m = self.regex().match(question)
        return m.groupdict() if m else None


@dataclass
class Instance:
    """A generated question with its exact answer and oracle chain."""

    qid: str
    question: str
    answer: Answer
    chain: list[Call]
    template: str
    domain: str
    level: str
    params: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Answer]:
        return {"qid": self.qid, "question": self.question, "answer": self.answer}


def finish(answer: Answer) -> Call:
    return ("Finish", {"answer": str(answer)})


def instantiate(
    templates: Sequence[Template],
    data: Any,
    rng: random.Random,
    per_template: int | Sequence[int],
    qid_prefix: str,
    max_tries: int = 400,
) -> list[Instance]:
    """Sample ``per_template`` distinct questions of each template (resampling on None)."""
    out: list[Instance] = []
    counts = [per_template] * len(templates) if isinstance(per_template, int) else list(per_template)
    for tpl, n in zip(templates, counts, strict=True):
        seen: set[str] = set()
        tries = 0
        made = 0
        while made < n and tries < max_tries:
            tries += 1
            params = tpl.sample(data, rng)
            if params is None:
                continue
            q = tpl.question(params)
            if q in seen:
                continue
            ans = tpl.answer(data, params)
            if ans is None:
                continue
            seen.add(q)
            qid = f"{qid_prefix}-{len(out):04d}"
            out.append(
                Instance(qid, q, ans, tpl.chain(data, params, ans), tpl.name, tpl.domain, tpl.level, params)
            )
            made += 1
    return out


def replay_chain(session_call: Callable[[str, dict[str, str]], str], chain: Iterable[Call]) -> str:
    """Execute an oracle chain; return the ``Finish`` answer (raises what the tools raise)."""
    final = ""
    for name, args in chain:
        obs = session_call(name, args)
        if name == "Finish":
            final = args.get("answer", obs)
    return final


def chain_steps(
    session_call: Callable[[str, dict[str, str]], str], chain: Iterable[Call]
) -> list[dict[str, Any]]:
    """Execute a chain and record each step as {thought, tool, arguments, observation, ok}."""
    steps: list[dict[str, Any]] = []
    for name, args in chain:
        try:
            obs, ok = session_call(name, args), True
        except Exception as exc:  # a tool error becomes data on the step
            obs, ok = f"Error: {exc}", False
        steps.append(
            {
                "thought": _thought(name, args),
                "tool": name,
                "arguments": dict(args),
                "observation": obs,
                "ok": ok,
            }
        )
    return steps


def _thought(name: str, args: dict[str, str]) -> str:
    arg = ", ".join(args.values())
    return {
        "LoadDB": f"I need to load the {arg} database.",
        "FilterDB": f"Filter the table to the rows matching {arg}.",
        "GetValue": f"Read the {arg} value of the matching row.",
        "SQLInterpreter": "An SQL query computes this aggregate directly.",
        "PythonInterpreter": "Compute the answer with a short Python program.",
        "Calculate": f"Compute {arg}.",
        "LoadGraph": "Load the DBLP graphs.",
        "Finish": "I have the answer.",
    }.get(name, f"Call {name} on {arg}.")


def _offline_call(name: str, args: dict[str, str]) -> str:
    return f"Answer: {args['answer']}" if name == "Finish" else ""


def write_seed_experiences(
    path: Path,
    instances: Iterable[Instance],
    session_factory: Callable[[], Callable[[str, dict[str, str]], str]] | None = None,
) -> int:
    """Write oracle demonstrations in the official SEER ``library.json`` format (the pool imports it).

    ``session_factory`` gives a fresh tool session per chain (e.g. ``ToolSession(corpus).call``) so
    each step's observation is real; without it observations stay empty. Returns the record count.
    The records seed the ``static`` baseline and never repeat an evaluation question.
    """
    from seer.tools.protocol import CALL_BEGIN, CALL_END, format_text_call

    records = []
    for n, inst in enumerate(instances, 1):
        steps = chain_steps(session_factory() if session_factory else _offline_call, inst.chain)
        lines, full = [], [f"Question: {inst.question}"]
        for i, step in enumerate(steps, 1):
            call = format_text_call(step["tool"], step["arguments"])
            lines.append(f"Step {i}: {step['thought']} {CALL_BEGIN}{call}{CALL_END}")
            full += [lines[-1], f"Result {i}: {step['observation']}"]
        records.append(
            {
                "id": f"oracle_{n}",
                "class": inst.domain,
                "question": inst.question,
                "steps": lines,
                "tools": [step["tool"] for step in steps],
                "template": f"{inst.domain}/{inst.level}/{inst.template}",
                "answer": str(inst.answer),
                "full_text": "\n".join(full),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(records)
