"""Verification against the real ToolQA data in ../shared (skipped when absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seer.eval.toolqa.questions import DOMAINS, load_questions
from seer.eval.toolqa.synth import coffee


def test_coffee_easy_templates_reproduce_all_official_answers(
    real_corpus: Path, official_questions: Path
) -> None:
    data = coffee.load(real_corpus / "coffee" / "coffee_price.csv")
    questions = load_questions(official_questions, "coffee", "easy")
    assert len(questions) == 100
    matched = 0
    for q in questions:
        hits = [(t, p) for t in coffee.EASY if (p := t.parse(q.question)) is not None]
        assert len(hits) == 1, q.question
        tpl, params = hits[0]
        assert tpl.answer(data, params) == q.answer, (q.qid, q.question)
        matched += 1
    assert matched == 100


def test_official_question_files_load(official_questions: Path) -> None:
    total = 0
    for level in ("easy", "hard"):
        for domain in DOMAINS:
            path = official_questions / level / f"{domain}-{level}.jsonl"
            if not path.exists():
                continue
            qs = load_questions(official_questions, domain, level)
            assert qs and all(q.qid == f"{level}-{domain}-{i:04d}" for i, q in enumerate(qs))
            total += len(qs)
    assert total >= 1300


def _numbers(text: str) -> set[float]:
    out = set()
    for m in re.finditer(r"\d+(?:\s*\.\s*\d+)?", text):
        out.add(round(float(re.sub(r"\s", "", m.group())), 6))
    return out


def _found(answer: str, raw: str, numbers: set[float]) -> bool:
    """Literal match, else numeric match (tokenised "82.00 %" for "82.0%", or a x100 / /100 rescale)."""
    if answer in raw:
        return True
    m = re.match(r"^\s*(\d+(?:\.\d+)?)", answer)
    return bool(m) and any(
        round(v, 6) in numbers for v in (float(m.group(1)),) for v in (v, v * 100, v / 100)
    )


# Measured: 49 of the 67 SUBSET answers occur in the section text; the other 18 (e.g. "52.38",
# "0.02618", "78.58") appear nowhere in Preprocessed_Scirex.jsonl — their tables were dropped by the
# preprocessing — so "all 67 retrievable" does not hold for this corpus.
SCIREX_FOUND = 49


def _scirex_pass(real_corpus: Path, official_questions: Path) -> tuple[set[str], list[str]]:
    subset = json.loads((real_corpus / "scirex" / "SUBSET.json").read_text())
    wanted = set(subset["answerable_easy_qids"])
    raw = "\n".join(
        json.loads(line)["content"]
        for line in (real_corpus / "scirex" / "Preprocessed_Scirex.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    numbers = _numbers(raw)
    passed = [
        q.qid
        for q in load_questions(official_questions, "scirex", "easy")
        if q.qid in wanted and _found(str(q.answer), raw, numbers)
    ]
    return wanted, passed


def test_scirex_subset_answers_found_in_sections(real_corpus: Path, official_questions: Path) -> None:
    wanted, passed = _scirex_pass(real_corpus, official_questions)
    assert len(wanted) == 67
    assert len(passed) == SCIREX_FOUND, sorted(wanted - set(passed))


@pytest.mark.xfail(
    strict=True, reason="18 of the 67 SUBSET answers are absent from the preprocessed SciREX text"
)
def test_scirex_all_67_subset_answers_found(real_corpus: Path, official_questions: Path) -> None:
    wanted, passed = _scirex_pass(real_corpus, official_questions)
    assert len(passed) == 67
