"""Run log (versioned JSONL, torn last line) and reports (tables, learning curve, markdown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seer.eval.report import (
    learning_curve,
    markdown_table,
    own_recall_share,
    own_share_markdown,
    rich_table,
    summary,
    write_report,
)
from seer.eval.runlog import (
    BatchLog,
    RecalledRef,
    RecordLog,
    RunHeader,
    RunLog,
    RunLogError,
    StepLog,
    TaskLog,
    VerdictLog,
)


def task(method: str, domain: str, batch: int, em: bool, qid: str, phase: str = "online") -> TaskLog:
    return TaskLog(
        method=method,
        phase=phase,
        batch=batch,
        qid=qid,
        domain=domain,
        level="easy",  # type: ignore[arg-type]
        question="q?",
        answer="a" if em else "b",
        gold="a",
        halted="finish",
        em=em,
        verdict=VerdictLog(success=em, kind="exact_match"),
        steps=[StepLog(index=1, tool="Finish")],
        record=RecordLog(status="skipped"),
        seconds=2.0,
        prompt_tokens=10,
        completion_tokens=5,
    )


def make_log(path: Path) -> RunLog:
    log = RunLog(path / "runlog.jsonl")
    log.append(RunHeader(run="t", config={"protocol": "online", "methods": ["react", "seer"], "k": 4}))
    for i in range(8):
        log.append(task("react", "coffee" if i % 2 else "flight", 1 + i // 4, i % 4 == 0, f"q{i}"))
        log.append(task("seer", "coffee" if i % 2 else "flight", 1 + i // 4, i >= 4 or i == 0, f"q{i}"))
    log.append(BatchLog(method="seer", phase="online", batch=1, flushed=1, stored_ids=["e1"], pool_size=1))
    log.append(BatchLog(method="seer", phase="online", batch=2, flushed=4, stored_ids=["e2"], pool_size=5))
    return log


def test_runlog_roundtrip_and_torn_line(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    assert len(log.read()) == 19 and log.header() is not None
    assert ("seer", "online", "q3") in log.finished()
    with log.path.open("a") as fh:
        fh.write('{"kind": "task", "schema_ver')
    assert len(log.read()) == 19  # the torn line is dropped ...
    assert log.path.read_bytes().endswith(b"}\n")  # ... and cut away, so the next append starts clean
    log.append(task("seer", "coffee", 3, True, "q9"))
    assert len(log.tasks()) == 17


def test_runlog_refuses_corruption_and_newer_schema(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0], "not json", *lines[1:]]) + "\n")
    with pytest.raises(RunLogError, match="corrupt"):
        log.read()
    log.path.write_text(lines[0].replace('"schema_version":1', '"schema_version":99') + "\n")
    with pytest.raises(RunLogError, match="newer"):
        log.read()


def test_summary_curve_and_report(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    rows = summary(log.tasks())
    by = {(r.domain, r.method): r for r in rows}
    assert by[("all", "react")].em == pytest.approx(25.0) and by[("all", "seer")].em == pytest.approx(62.5)
    assert by[("coffee", "seer")].n == 4 and rows[-1].domain == "all"
    assert "| all | seer | 8 | 62.5 |" in markdown_table(rows)
    assert rich_table(rows) is not None
    curve = learning_curve(log.tasks())
    assert curve["seer"] == [(1, 25.0, 4), (2, 100.0, 4)]
    path = write_report(log)
    text = path.read_text()
    assert "learning_curve.png" in text and (tmp_path / "learning_curve.png").stat().st_size > 1000
    assert "seer: batch 1: 1, batch 2: 5" in text


def test_heldout_report_uses_the_test_split(tmp_path: Path) -> None:
    tasks = [task("seer", "coffee", 1, False, "a", "train"), task("seer", "coffee", 0, True, "b", "test")]
    assert [(r.n, r.em) for r in summary(tasks) if r.domain == "all"] == [(1, 100.0)]


def test_cpu_mean_skips_tasks_logged_before_the_field() -> None:
    old = task("seer", "coffee", 1, True, "a")  # cpu_seconds defaults to 0: a log from before the field
    new = [task("seer", "coffee", 2, True, q).model_copy(update={"cpu_seconds": 30.0}) for q in "bc"]
    row = next(r for r in summary([old, *new]) if r.domain == "all")
    assert row.cpu_seconds == pytest.approx(30.0)  # not 20.0: the old task has no measurement
    assert "| – |" in markdown_table(summary([old]))


def test_own_recall_share_counts_what_the_run_stored() -> None:
    def recalling(batch: int, ids: list[str]) -> TaskLog:
        refs = [RecalledRef(id=i, score=1.0, s1=1.0, s2=0.0, s3=1.0) for i in ids]
        step = StepLog(index=1, tool="Finish", recalled=refs)
        return task("seer", "coffee", batch, True, f"q{batch}").model_copy(update={"steps": [step]})

    tasks = [recalling(1, ["seed-1", "seed-2"]), recalling(2, ["e1", "seed-1", "seed-2", "e9"])]
    batches = [BatchLog(method="seer", phase="online", batch=1, flushed=1, stored_ids=["e1"], pool_size=3),
               BatchLog(method="query", phase="online", batch=1, flushed=1, stored_ids=["e9"], pool_size=3)]
    share = own_recall_share(tasks, batches)
    assert share == {"seer": [(1, 0, 2), (2, 1, 4)]}  # e9 was stored by another method's run
    assert "| seer | 0% | 25% |" in "\n".join(own_share_markdown(share))
    assert own_share_markdown({"seer": [(1, 0, 2)]}) == []  # nothing of its own yet: no section


def test_piped_report_shows_every_column_uncut(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seer.eval.cli import run

    make_log(tmp_path)
    result = CliRunner().invoke(run, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header = " ".join(result.output.split())
    for name in ("domain", "method", "judged %", "CPU s/task", "computed prompt tok/task", "tokens/task"):
        assert name in header, name
    assert "…" not in result.output
