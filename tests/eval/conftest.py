"""Fixtures shared by the harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from seer.eval.toolqa.questions import Question, load_questions


@pytest.fixture
def coffee_questions(official_questions: Path) -> list[Question]:
    qs = [q for q in load_questions(official_questions, "coffee", "easy") if "opening price" in q.question]
    assert len(qs) >= 6
    return qs[:6]
