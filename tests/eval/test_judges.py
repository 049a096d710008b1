"""Judges: exact match (ToolQA normalisation), numeric tolerance, LLM judge with gold, self-judge."""

from __future__ import annotations

import pytest

from seer.eval.judges import exact_match, llm_gold, make_judge, numeric, self_judge
from seer.eval.models.scripted import ScriptedModel


def test_exact_match_uses_toolqa_normalisation() -> None:
    judge = exact_match()
    assert judge("q", "The 42.75 USD.", "42.75").success
    assert not judge("q", "42.7", "42.75").success
    assert not judge("q", None, "42.75").success
    assert judge("q", "x", "x").kind == "exact_match"


def test_numeric_tolerance() -> None:
    judge = numeric(rel_tol=0.01)
    assert judge("q", "about 1,000.5 dollars", "1001").success
    assert not judge("q", "990", "1001").success
    assert judge("q", "Yes", "yes").success and judge("q", "Yes", "yes").detail.startswith("not numeric")


def test_llm_gold_judge_reads_match_and_no_match() -> None:
    model = ScriptedModel(["[Match]", "[No Match]", "Match"])
    judge = llm_gold(model)
    assert judge("q", "42.75", "42.75").success
    assert not judge("q", "41", "42.75").success
    assert judge("q", "42.75 usd", "42.75").success
    assert not judge("q", "", "42.75").success and len(model.calls) == 3  # no answer: no model call
    assert "Gold answer: 42.75" in model.prompts[0][-1]["content"]


def test_self_judge_needs_no_gold() -> None:
    model = ScriptedModel(["[Match]", "[No Match]"])
    judge = self_judge(model)
    assert judge("q", "42.75", None, "Step 1: GetValue[Open]\nResult 1: 42.75").success
    assert (
        "Result 1: 42.75" in model.prompts[0][-1]["content"] and "Gold" not in model.prompts[0][-1]["content"]
    )
    verdict = judge("q", "7", None, "")
    assert not verdict.success and verdict.kind == "self"


def test_make_judge() -> None:
    assert make_judge("em").kind == "exact_match"
    with pytest.raises(ValueError):
        make_judge("llm_gold")
    with pytest.raises(ValueError):
        make_judge("nope")
