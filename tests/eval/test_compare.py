"""Comparing runs made separately: common questions only, same-stream check, paired McNemar counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from seer.eval import report
from seer.eval.compare import (
    CompareError,
    Paired,
    cost_table,
    load,
    paired,
    server_cpu_per_question,
    write_report,
)
from seer.eval.report import gain_over
from seer.eval.runlog import BatchLog, RunHeader, RunLog, TaskLog
from seer.seer_mcp.cli import main

from .test_report import task

STREAM = {"protocol": "online", "domains": ["coffee", "flight"], "level": "easy", "limit": 4, "batches": 2,
          "seed": 0, "k": 4}


def run_dir(root: Path, method: str, answers: list[bool], **overrides: object) -> Path:
    out = root / method
    log = RunLog(out / "runlog.jsonl")
    log.append(RunHeader(run=method, config={**STREAM, "methods": [method], **overrides}))
    for i, em in enumerate(answers):
        log.append(task(method, "coffee" if i % 2 else "flight", 1 + i // 4, em, f"q{i}"))
    if method == "seer":
        log.append(BatchLog(method="seer", phase="online", batch=1, flushed=2, pool_size=12))
    return out


def test_compare_keeps_only_the_questions_every_method_finished(tmp_path: Path) -> None:
    seer = run_dir(tmp_path, "seer", [True, True, False, True, True, True])
    react = run_dir(tmp_path, "react", [False, True, False, False])  # stopped after 4 questions
    cmp = load([seer, react])
    assert cmp.qids == ["q0", "q1", "q2", "q3"] and cmp.beyond_common == {"seer": 2, "react": 0}
    (row,) = paired(cmp.tasks, "seer")
    assert (row.method, row.n, row.reference_only, row.method_only, row.both, row.neither) == (
        "react", 4, 2, 0, 1, 1)
    text = write_report(cmp, tmp_path / "cmp").read_text()
    assert "| all | seer | 4 | 75.0 |" in text and "| all | react | 4 | 25.0 |" in text
    assert "| react | 4 | 2 | 0 | 1 | 1 | 0.5 |" in text
    assert "seer: batch 1: 12" in text and "Left out" in text
    assert "| seer | 4 | 75.0 | 75.0 |" in text
    assert "| react | 4 | 1 | 3 | 0 | 0 |" in text  # every episode ended with Finish


def test_numeric_equality_beside_exact_match() -> None:
    from seer.eval.compare import lenient_table

    formatted = task("react", "gsm8k", 1, False, "q1").model_copy(update={"answer": "24", "gold": "24.0"})
    wrong = task("react", "gsm8k", 1, False, "q2").model_copy(update={"answer": "25", "gold": "24.0"})
    assert "| react | 2 | 0.0 | 50.0 |" in lenient_table([formatted, wrong])


def test_a_run_without_finished_tasks_empties_the_common_set(tmp_path: Path) -> None:
    seer = run_dir(tmp_path, "seer", [True, False])
    static = run_dir(tmp_path, "static", [])
    cmp = load([seer, static])
    assert cmp.qids == [] and cmp.methods == ["seer", "static"]
    assert "Common questions (finished by every method): 0" in write_report(cmp, tmp_path / "c").read_text()


def test_runs_on_different_streams_are_refused(tmp_path: Path) -> None:
    seer = run_dir(tmp_path, "seer", [True])
    react = run_dir(tmp_path, "react", [True], seed=1)
    with pytest.raises(CompareError, match=r"react/runlog.jsonl: setting seed=1 differs"):
        load([seer, react])
    with pytest.raises(CompareError, match="no run log"):
        load([seer, tmp_path / "missing"])
    twice = run_dir(tmp_path / "again", "seer", [False])
    with pytest.raises(CompareError, match="method 'seer' is also in"):
        load([seer, twice])


def test_benchmark_runs_are_reported_by_their_checker_and_never_mixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"bench": "bfcl", "options": {"category": "multi_turn_base"}}
    seer = run_dir(tmp_path, "seer", [True, False, False, False, True], **options)  # two batches: plotted
    react = run_dir(tmp_path, "react", [False, False, False, False, False], **options)
    plotted: list[tuple[str, str]] = []
    real_plot = report._plot

    def plot(series: Any, path: Path, ylabel: str, title: str, ylim: Any = None) -> Path:
        plotted.append((ylabel, title))
        return real_plot(series, path, ylabel, title, ylim)

    monkeypatch.setattr(report, "_plot", plot)
    text = write_report(load([seer, react]), tmp_path / "cmp").read_text()
    assert text.startswith("# BFCL comparison") and "EM is bfcl's own checker" in text
    assert "ToolQA" not in text and "numeric equality" not in text
    assert ("passed by bfcl's checker (%)", "BFCL: batch-wise accuracy") in plotted
    assert not any("exact match" in label for label, _ in plotted)
    out = ["--out", str(tmp_path / "printed")]
    printed = CliRunner().invoke(main, ["run", "compare", str(seer), str(react), *out])
    assert printed.exit_code == 0 and "BFCL accuracy" in printed.output, printed.output
    toolqa = run_dir(tmp_path / "toolqa", "react", [False, False])
    with pytest.raises(CompareError, match="setting bench=None differs"):
        load([seer, toolqa])
    other = run_dir(tmp_path / "other", "react", [False, False], bench="bfcl",
                    options={"category": "multi_turn_long_context"})
    with pytest.raises(CompareError, match="setting options=.*multi_turn_long_context.* differs"):
        load([seer, other])


def test_labelled_runs_of_one_method_from_different_starts_sit_side_by_side(tmp_path: Path) -> None:
    seeded = run_dir(tmp_path / "s8", "seer", [True, True, False, False], seeds="library.json")
    empty = run_dir(tmp_path / "empty", "seer", [True, False, False, False], seeds="none")
    result = CliRunner().invoke(main, ["run", "compare", f"{empty}@empty", f"{seeded}@seeds8", "--reference",
                                       "seer@seeds8", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "r" / "report.md").read_text()
    assert "| all | seer@empty | 4 | 25.0 |" in text and "| all | seer@seeds8 | 4 | 50.0 |" in text
    assert "| seer@empty | 4 | 1 | 0 | 1 | 2 | 1 |" in text  # paired with the labelled reference
    assert "seer@seeds8: batch 1: 12" in text  # batch lines carry the label too
    report = ["--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, ["run", "compare", str(empty), str(seeded), *report])
    assert result.exit_code != 0 and "label the runs" in result.output
    result = CliRunner().invoke(main, ["run", "compare", f"{tmp_path / 'nowhere'}@x", *report])
    assert result.exit_code != 0 and "no such run directory" in result.output


def test_mcnemar_exact_p_values() -> None:
    assert Paired("m", 10, 0, 0, 5, 5).p_value == 1.0
    assert Paired("m", 10, 5, 0, 5, 0).p_value == pytest.approx(2 / 32)
    assert Paired("m", 20, 8, 2, 5, 5).p_value == pytest.approx(0.109375)


def test_compare_command_prints_and_writes(tmp_path: Path) -> None:
    seer = run_dir(tmp_path, "seer", [True, False])
    react = run_dir(tmp_path, "react", [False, False])
    result = CliRunner().invoke(main, ["run", "compare", str(seer), str(react), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "2 common questions" in result.output and (tmp_path / "r" / "report.md").is_file()
    bad = run_dir(tmp_path / "b", "react", [False], level="hard")
    result = CliRunner().invoke(main, ["run", "compare", str(seer), str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code != 0 and "setting level='hard' differs" in result.output


def test_cost_table_uses_only_questions_every_method_timed() -> None:
    def timed(method: str, qid: str, cpu: float) -> TaskLog:
        return task(method, "coffee", 1, True, qid).model_copy(update={"cpu_seconds": cpu})

    tasks = [timed("seer", "q0", 0.0), timed("react", "q0", 5.0),  # seer's q0 predates CPU logging
             timed("seer", "q1", 40.0), timed("react", "q1", 10.0),
             timed("seer", "q2", 60.0), timed("react", "q2", 20.0)]
    table = cost_table(tasks)
    assert table is not None
    assert "| seer | 2 | 50.0 |" in table and "| react | 2 | 15.0 |" in table
    assert cost_table([timed("seer", "q0", 0.0), timed("react", "q0", 5.0)]) is None
    with_server = cost_table(tasks, {"seer": 2.5})
    assert with_server is not None and "| seer | 2 | 52.5 (50.0 + 2.5) |" in with_server


def test_server_cpu_comes_from_the_run_folder(tmp_path: Path) -> None:
    seer = run_dir(tmp_path, "seer", [True, True, False, True])
    react = run_dir(tmp_path, "react", [True, False, False, True])
    (seer / "server_cpu.json").write_text('{"processes": {"1@2": 12.0}, "cpu_seconds": 12.0}')
    (react / "server_cpu.json").write_text("not json")
    assert server_cpu_per_question(load([seer, react])) == {"seer": 3.0}  # 12 s over its 4 questions


def test_gain_over_react_counts_right_answers_beyond_reacts_per_batch(tmp_path: Path) -> None:
    # batch 1: q0-q3, batch 2: q4-q7; react right on q0 and q4, seer on q0, q1 and q4-q7
    seer = run_dir(tmp_path, "seer", [True, True, False, False, True, True, True, True])
    react = run_dir(tmp_path, "react", [True, False, False, False, True, False, False, False])
    cmp = load([seer, react])
    assert gain_over(cmp.tasks, "react") == {"seer": [(1, 1, 1), (2, 3, 4)]}
    report = write_report(cmp, tmp_path / "r").read_text()
    assert "## Gain over react" in report and "| seer | +1 (+1) | +3 (+4) |" in report
    assert (tmp_path / "r" / "gain_over_react.png").is_file()
    alone = write_report(load([seer]), tmp_path / "alone").read_text()
    assert "Gain over react" not in alone  # nothing to compare with


def test_online_runs_of_frozen_methods_stand_in_for_a_heldout_test_split(tmp_path: Path) -> None:
    heldout = {"protocol": "heldout", "train_frac": 0.5}
    seer = tmp_path / "seer"
    log = RunLog(seer / "runlog.jsonl")
    log.append(RunHeader(run="seer", config={**STREAM, "methods": ["seer"], **heldout}))
    log.append(task("seer", "flight", 1, True, "q0", phase="train"))
    for qid, em in (("q1", True), ("q2", False)):  # the test split, answered from the frozen pool
        log.append(task("seer", "flight", 0, em, qid, phase="test"))
    react = run_dir(tmp_path, "react", [False, False, True, False])  # online: q0..q3
    cmp = load([seer, react])
    assert cmp.qids == ["q1", "q2"] and cmp.stand_ins == ["react"]
    assert {t.phase for t in cmp.tasks} == {"test"}  # react's answers count as test answers
    (row,) = paired(cmp.tasks, "seer")
    assert (row.reference_only, row.method_only, row.both, row.neither) == (1, 1, 0, 0)
    assert "react learn nothing, so their answers come from online runs" in write_report(
        cmp, tmp_path / "r").read_text()
    # a method that learns may not: its online answers depend on the pool it grew
    query = run_dir(tmp_path, "query", [True, True, True, True])
    with pytest.raises(CompareError, match="protocol='online' differs.*only an online run of methods"):
        load([seer, query])
    # nor a run on another stream
    static = run_dir(tmp_path, "static", [True], seed=3)
    with pytest.raises(CompareError, match="seed=3 differs"):
        load([seer, static])
