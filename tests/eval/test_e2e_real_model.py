"""One real end-to-end run: the embedded Qwen 1.5B drives the real server over MCP with recall."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from seer.eval.run_toolqa import RunConfig, execute
from tests.eval.real_model import skip_unless_model

pytestmark = pytest.mark.real_model


@pytest.fixture
def qwen(user_models_dir: str) -> object:
    skip_unless_model("default")
    from seer.eval.models import LlamaCppModel

    return LlamaCppModel.from_registry("default")


def test_qwen_solves_through_mcp_with_stepwise_recall(
    qwen: object, real_corpus: Path, official_questions: Path, seed_library: Path, tmp_path: Path
) -> None:
    """From the official seeds (whose coffee demonstration queries ``FROM coffee``), the model answers an
    opening-price question, the success is stored at once, and the next question recalls it."""
    opening = [line for line in (official_questions / "easy" / "coffee-easy.jsonl").read_text().splitlines()
               if "opening price" in line][:2]
    questions = tmp_path / "questions" / "easy"
    questions.mkdir(parents=True)
    (questions / "coffee-easy.jsonl").write_text("\n".join(opening) + "\n")
    config = RunConfig(
        run="e2e",
        methods=["seer"],
        domains=["coffee"],
        limit=2,
        batches=1,
        immediate=True,
        intent="gold",
        embedder="hash",
        corpus=str(real_corpus),
        questions=str(questions.parent),
        seeds=str(seed_library),
    )
    log = anyio.run(lambda: execute(config, tmp_path / "run", model=qwen, show_progress=False))
    tasks = log.tasks()
    assert len(tasks) == 2
    for task in tasks:
        assert task.steps, task.qid
        assert all(step.recalled for step in task.steps)  # recall before every step, the coffee seed at least
        assert all(r.s3 == 1.0 for step in task.steps for r in step.recalled or [])  # only the task's intent
        assert task.prompt_tokens > 0 and task.completion_tokens > 0
        assert task.cached_prompt_tokens == sum(s.cached_prompt_tokens for s in task.steps)
    later = [s for task in tasks for s in task.steps][1:]  # every later call shares the system prefix
    assert all(0 < s.cached_prompt_tokens < s.prompt_tokens for s in later)
    first = tasks[0].steps[0]
    assert first.ok and first.tool in ("SQLInterpreter", "LoadDB"), first  # an executable call, as shown
    assert tasks[0].verdict.success, [(s.tool, s.arguments, s.observation) for s in tasks[0].steps]
    assert tasks[0].record.status == "stored"  # the first success is stored and recalled for the second
    assert tasks[0].record.id in {r.id for r in tasks[1].steps[0].recalled or []}
