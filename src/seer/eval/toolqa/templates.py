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
    session_call: Callable[[str, dict[str, str]], str] | None = None,
) -> int:
    """Write oracle demonstrations as JSONL records (``source: "oracle"``).

    With ``session_call`` (e.g. ``ToolSession(corpus).call``) every step is executed and its
    observation recorded; without it observations stay empty. Returns the record count.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for inst in instances:
            steps = chain_steps(session_call or _offline_call, inst.chain)
            rec = {
                "task": inst.question,
                "intent": f"{inst.domain}/{inst.level}/{inst.template}",
                "steps": steps,
                "final_answer": str(inst.answer),
                "source": "oracle",
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n
