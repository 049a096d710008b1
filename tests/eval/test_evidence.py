"""Step-level evidence: demonstrations classed by question type (seeds and the run's own records), paired
with react on the same questions, and copied first calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seer.eval.evidence import evidence, evidence_markdown
from seer.eval.runlog import BatchLog, RebuildLog, RecalledRef, RecordLog, StepLog, TaskLog, VerdictLog

OPENING = "What was the opening price of coffee on {}?"
LOWEST = "What was the lowest price of coffee on {}?"
LOAD = ("LoadDB", {"target_db": "coffee"})
SEED_CALL = {"query": "SELECT Open FROM coffee WHERE Date='2011-05-18'"}  # seed-id_2's first call


def task(method: str, qid: str, question: str, em: bool, *, batch: int = 1,
         shown: tuple[str, ...] | None = (), call: tuple[str, dict[str, Any]] = LOAD, record: str = "skipped",
         record_id: str | None = None) -> TaskLog:
    recalled = None if shown is None else [RecalledRef(id=i, score=1.0, s1=1.0, s2=0.0, s3=1.0)
                                            for i in shown]
    return TaskLog(method=method, phase="online", batch=batch, qid=qid, domain="coffee", level="easy",
                   question=question, intent=None if method == "react" else "coffee", gold="1",
                   halted="finish",
                   answer="1" if em else "2", em=em, verdict=VerdictLog(success=em, kind="exact_match"),
                   steps=[StepLog(index=1, recalled=recalled, tool=call[0], arguments=call[1])],
                   record=RecordLog(status=record, id=record_id))


def stream() -> list[TaskLog]:
    react = [task("react", f"q{i}", q, em, shown=None) for i, (q, em) in enumerate(
        [(OPENING.format("2012-01-03"), True), (LOWEST.format("2012-01-04"), True),
         (OPENING.format("2012-01-05"), False), (OPENING.format("2012-01-06"), False)])]
    seer = [
        task("query", "q0", OPENING.format("2012-01-03"), True, shown=("seed-id_2",),
             call=("SQLInterpreter", SEED_CALL), record="buffered"),
        task("query", "q1", LOWEST.format("2012-01-04"), False, shown=("seed-id_2",),
             call=("SQLInterpreter", SEED_CALL)),
        task("query", "q2", OPENING.format("2012-01-05"), False),
        task("query", "q3", OPENING.format("2012-01-06"), True, batch=2, shown=("own-1", "lost-9")),
    ]
    return react + seer


def test_demonstrations_are_classed_by_question_type_and_paired_with_react(shared_dir: Path) -> None:
    library = shared_dir / "seer" / "library.json"
    flushes = [BatchLog(method="query", phase="online", batch=1, flushed=1, stored_ids=["own-1"])]
    cells = evidence(stream(), flushes, library)["query"]
    same, other, none = cells["same type shown"], cells["other types only"], cells["none shown"]
    # q0: the seed of its own type, copied and right; q3: its own earlier record of that type
    assert (same.tasks, same.right, same.baseline_right, same.copied, same.copied_right) == (2, 2, 1, 1, 1)
    assert same.unknown_hits == 1  # "lost-9" has no source in the logs
    # q1: only the opening-price seed for a lowest-price question, copied, wrong where react was right
    assert (other.tasks, other.right, other.baseline_right, other.copied) == (1, 0, 1, 1)
    assert (none.tasks, none.right, none.baseline_right) == (1, 0, 0)
    table = "\n".join(evidence_markdown({"query": cells}))
    assert "| query | other types only | 1 | 0 | 1 | 1 (0) |" in table
    assert "unknown source (counted as other types): query 1" in table


def test_own_records_are_named_only_when_a_flush_stored_every_one(shared_dir: Path) -> None:
    library = shared_dir / "seer" / "library.json"
    merged = [BatchLog(method="query", phase="online", batch=1, flushed=1, stored_ids=[])]  # dedup-merged
    assert evidence(stream(), merged, library)["query"]["same type shown"].tasks == 1  # only q0 now
    rebuilt = [RebuildLog(method="query", replayed=1, stored_ids=["own-1"])]  # a lost pool, replayed
    tasks = [t.model_copy(update={"record": RecordLog(status="stored", id="own-0")}) if t.qid == "q0"
             and t.method == "query" else t for t in stream()]
    cells = evidence(tasks, rebuilt, library)["query"]
    assert cells["same type shown"].tasks == 2 and cells["same type shown"].unknown_hits == 1


def test_react_alone_gives_no_evidence(tmp_path: Path) -> None:
    tasks = [t for t in stream() if t.method == "react"]
    assert evidence(tasks, [], tmp_path / "missing.json") == {}
    assert evidence_markdown({}) == []
