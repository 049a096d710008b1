"""Score terms, query plans and selection filters (pure functions)."""

from __future__ import annotations

import numpy as np

from seer.pool import RecallRequest, Step
from seer.pool.mirror import Mirror
from seer.pool.recall import combine, intent_match, plan, similarity, tool_coverage


def test_similarity_maps_cosine_to_unit_interval() -> None:
    m = np.array([[1, 0], [0, 1], [-1, 0]], np.float32)
    assert similarity(m, np.array([1, 0], np.float32)).tolist() == [1.0, 0.5, 0.0]


def test_tool_coverage_uses_sets_and_is_zero_without_calls() -> None:
    mirror = Mirror(2)
    a = mirror.tool_mask({"LoadDB", "FilterDB", "GetValue"}, add=True)
    b = mirror.tool_mask({"LoadDB"}, add=True)
    masks = np.stack([a, b])
    history = mirror.tool_mask({"LoadDB", "FilterDB"}, add=False)
    assert tool_coverage(masks, history, 2).tolist() == [1.0, 0.5]
    assert tool_coverage(masks, history, 0).tolist() == [0.0, 0.0]
    # an unseen tool counts in the denominator only
    unseen = mirror.tool_mask({"LoadDB", "Nope"}, add=False)
    assert tool_coverage(masks, unseen, 2).tolist() == [0.5, 0.5]


def test_intent_match() -> None:
    codes = np.array([0, 1, 0])
    assert intent_match(codes, 0).tolist() == [1.0, 0.0, 1.0]
    assert intent_match(codes, -1).tolist() == [0.0, 0.0, 0.0]


def test_combine_switches_and_lambdas() -> None:
    s1, s2, s3 = (np.array([v], np.float32) for v in (0.5, 0.25, 1.0))
    assert combine(s1, s2, s3, RecallRequest(task="t")).tolist() == [1.75]
    assert combine(s1, s2, s3, RecallRequest(task="t", terms=["s1", "s2"])).tolist() == [0.75]
    assert combine(s1, s2, s3, RecallRequest(task="t", terms=["s3"])).tolist() == [1.0]
    assert combine(s1, s2, s3, RecallRequest(task="t", lambdas=(2, 0, 1))).tolist() == [2.0]


def test_plans_per_strategy() -> None:
    steps = [
        Step(tool="LoadDB", arguments={"target_db": "flight"}),
        Step(tool="FilterDB", arguments={"condition": "x"}, ok=False),
    ]
    first = RecallRequest(task="q")
    later = RecallRequest(task="q", steps_so_far=steps)
    assert plan(first).column == "query" and plan(first).text == "q"  # hybrid step 1: goal
    hybrid_later = plan(later)
    assert hybrid_later.column == "trajectory" and "LoadDB[flight]" in hybrid_later.text
    assert "FilterDB" not in hybrid_later.text and hybrid_later.history_tools == ["LoadDB"]
    goal = plan(later.model_copy(update={"strategy": "goal"}))
    assert goal.column == "query" and goal.text == "q" and goal.history_tools == []
    process_first = plan(first.model_copy(update={"strategy": "process"}))
    assert process_first.column == "trajectory" and process_first.text == "q"  # not the empty string
