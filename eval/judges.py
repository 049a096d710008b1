"""Judges decide whether a task succeeded; only judged successes join the experience pool.

Each factory returns a :class:`Judge`: a callable ``(question, answer, gold, trajectory) ->
Verdict``. ``kind`` names the judge and is stored with every recorded experience.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

from seer.eval import prompts
from seer.eval.toolqa.scoring import exact_match as _em
from seer.eval.toolqa.scoring import normalize_answer


@dataclass(frozen=True)
class Verdict:
    success: bool
    kind: str
    detail: str = ""


class Judge(Protocol):
    @property
    def kind(self) -> str: ...

    def __call__(self, question: str, answer: str | None, gold: str | None,
                 trajectory: str = "") -> Verdict: ...


class JudgeModel(Protocol):
    def generate(self, messages: list[dict[str, Any]], *, schema: dict[str, Any] | None = None,
                 max_tokens: int = 512, stop: list[str] | None = None) -> Any: ...


@dataclass(frozen=True)
class _FnJudge:
    kind: str
    fn: Any

    def __call__(self, question: str, answer: str | None, gold: str | None, trajectory: str = "") -> Verdict:
        verdict: Verdict = self.fn(question, answer, gold, trajectory)
        return verdict


def exact_match() -> Judge:
    """ToolQA's metric: normalised exact match with the gold answer (the primary metric)."""

    def judge(question: str, answer: str | None, gold: str | None, trajectory: str) -> Verdict:
        if gold is None:
            raise ValueError("exact_match needs a gold answer")
        ok = _em(answer, gold)
        return Verdict(ok, "exact_match", f"{normalize_answer(answer or '')!r} vs {normalize_answer(gold)!r}")

    return _FnJudge("exact_match", judge)


_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|-?\.\d+")


def _number(text: str | None) -> float | None:
    match = _NUMBER.search(text or "")
    if match is None:
        return None
    try:
        return float(match.group().replace(",", ""))
    except ValueError:
        return None


def numeric(rel_tol: float = 1e-2, abs_tol: float = 1e-6) -> Judge:
    """Numbers within a tolerance (first number in each string); falls back to exact match otherwise."""

    def judge(question: str, answer: str | None, gold: str | None, trajectory: str) -> Verdict:
        if gold is None:
            raise ValueError("numeric needs a gold answer")
        a, g = _number(answer), _number(gold)
        if a is None or g is None:
            return Verdict(_em(answer, gold), "numeric", "not numeric: exact match")
        ok = math.isclose(a, g, rel_tol=rel_tol, abs_tol=abs_tol)
        return Verdict(ok, "numeric", f"{a} vs {g} (rel_tol={rel_tol})")

    return _FnJudge("numeric", judge)


def _match_verdict(text: str) -> bool:
    # "[No Match]" contains "Match]": test the negative form first, as the reference does
    lowered = text.lower()
    if "[no match]" in lowered or "no match" in lowered:
        return False
    return "[match]" in lowered or lowered.strip().startswith("match")


def llm_gold(model: JudgeModel, max_tokens: int = 8) -> Judge:
    """The SEER reference judge: the model compares the answer with the gold answer ([Match]/[No Match])."""

    def judge(question: str, answer: str | None, gold: str | None, trajectory: str) -> Verdict:
        if gold is None:
            raise ValueError("llm_gold needs a gold answer")
        if not answer:
            return Verdict(False, "llm_gold", "no answer")
        text = prompts.render("judge_gold", question=question, gold=gold, answer=answer)
        reply = model.generate([{"role": "user", "content": text}], max_tokens=max_tokens).text
        return Verdict(_match_verdict(reply), "llm_gold", reply.strip()[:200])

    return _FnJudge("llm_gold", judge)


def self_judge(model: JudgeModel, max_tokens: int = 8) -> Judge:
    """Reference-free: the model judges whether the trajectory's tool results support the answer (no gold)."""

    def judge(question: str, answer: str | None, gold: str | None, trajectory: str) -> Verdict:
        if not answer:
            return Verdict(False, "self", "no answer")
        text = prompts.render("judge_self", question=question, trajectory=trajectory[-6000:], answer=answer)
        reply = model.generate([{"role": "user", "content": text}], max_tokens=max_tokens).text
        return Verdict(_match_verdict(reply), "self", reply.strip()[:200])

    return _FnJudge("self", judge)


JUDGES = ("exact_match", "numeric", "llm_gold", "self")


def make_judge(kind: str, model: JudgeModel | None = None) -> Judge:
    """A judge by name; the LLM judges need ``model``."""
    if kind in ("exact_match", "em"):
        return exact_match()
    if kind == "numeric":
        return numeric()
    if kind in ("llm_gold", "self"):
        if model is None:
            raise ValueError(f"the {kind} judge needs a model")
        return llm_gold(model) if kind == "llm_gold" else self_judge(model)
    raise ValueError(f"unknown judge {kind!r}; expected one of {JUDGES}")
