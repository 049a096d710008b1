"""Term weights tuned on a run's own records: the pool is rebuilt from the log, probes are left out."""

from __future__ import annotations

from pathlib import Path

from seer.eval.bench.tune_weights import evaluate, question_type, recorded_requests, summary
from seer.eval.models.scripted import ScriptedModel
from seer.eval.toolqa.questions import Question
from seer.pool import HashEmbedder, RecordRequest, Step
from tests.eval.test_agent import solver
from tests.eval.test_runner import run


def _record(question: str, column: str, qid: str) -> RecordRequest:
    steps = [Step(thought="Load.", tool="LoadDB", arguments={"target_db": "coffee"}, observation="ok"),
             Step(thought="Day.", tool="FilterDB", arguments={"condition": "Date=2001-12-06"},
                  observation="1"),
             Step(thought="Read.", tool="GetValue", arguments={"column_name": column}, observation="42")]
    return RecordRequest(task=question, steps=steps, final_answer="42", success=True, judge="exact_match",
                         intent="coffee", source_task_id=qid)


def test_records_come_from_the_log_in_order(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    run(real_corpus, tmp_path, coffee_questions, ScriptedModel(solver(wrong=lambda q: q.endswith("6?"))))
    method, records, library = recorded_requests(tmp_path)
    successes = [q for q in coffee_questions if not q.question.endswith("6?")]
    assert method == "seer" and library is None
    assert sorted(r.source_task_id or "" for r in records) == sorted(q.qid for q in successes)
    assert all(r.success and r.judge == "exact_match" and len(r.steps) == 4 for r in records)


def test_a_question_type_seen_once_is_never_hit() -> None:
    opening = [_record(f"What was the opening price of coffee on 2001-12-0{i}?", "Open", f"o{i}")
               for i in range(1, 4)]
    volume = _record("How many units of coffee were traded on 2001-12-05?", "Volume", "v1")
    rows = evaluate([*opening, volume], None, HashEmbedder(), k=1, strategies=["blend"], grid=[1.0],
                    max_step=3)
    (row,) = rows
    assert row.n == 12  # 4 probes x 3 steps
    assert row.type_hit == row.top1_type == 75.0  # the volume question has no other of its type
    assert row.next_tool_hit == 100.0  # every coffee demonstration makes the same calls
    assert question_type("coffee", opening[0].task) == question_type("coffee", opening[1].task)
    assert summary(rows)["blend"]["best"] == row
