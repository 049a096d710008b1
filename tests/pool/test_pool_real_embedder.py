"""The packaged MiniLM: offline loading, intent inference on real ToolQA questions, seed recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seer.pool import TOOLQA_INTENTS, ExperiencePool, IntentClassifier, RecallRequest, import_file
from seer.pool.embedders import MINILM_ID, SentenceTransformerEmbedder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_minilm_loads_offline_normalised(minilm: SentenceTransformerEmbedder) -> None:
    vecs = minilm.embed(["a flight question", "a coffee question"])
    assert minilm.id == MINILM_ID and vecs.shape == (2, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_intents_of_real_questions(minilm: SentenceTransformerEmbedder, official_questions: Path) -> None:
    classifier = IntentClassifier(minilm, TOOLQA_INTENTS)
    wrong, total = [], 0
    for label in TOOLQA_INTENTS:
        lines = (official_questions / "easy" / f"{label}-easy.jsonl").read_text().splitlines()
        questions = [json.loads(line)["question"] for line in lines[:: max(1, len(lines) // 6)][:6]]
        for q, got in zip(questions, classifier.classify_many(questions), strict=True):
            total += 1
            if got != label:
                wrong.append((label, got, q))
    assert len(wrong) <= total // 10, wrong  # ≥ 90 % right


def test_seed_flight_question_recalled_first_with_inferred_intent(
    minilm: SentenceTransformerEmbedder, shared_dir: Path, tmp_path: Path
) -> None:
    pool = ExperiencePool.open(tmp_path / "seeds.duckdb", minilm)
    try:
        import_file(pool, shared_dir / "seer" / "library.json")
        out = pool.recall(
            RecallRequest(
                task="What was the departure time of the AA2319 flight from MIA to LAS on 2022-06-05?"
            )
        )
        assert out[0].id == "seed-id_1" and out[0].s3 == 1.0
    finally:
        pool.close()
