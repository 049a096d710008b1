"""`run fork`: a memory method's run started from a memory-free run equals the method's own run."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

pytest.importorskip("bfcl_eval", reason="BFCL is an extra: pip install --no-deps bfcl-eval==2026.3.23 mpmath")

from seer.eval.fork import ForkError, fork  # noqa: E402
from seer.eval.run_bench import BenchConfig, execute  # noqa: E402
from seer.eval.runlog import BatchLog, RunHeader, RunLog, TaskLog  # noqa: E402
from seer.seer_mcp.cli import main  # noqa: E402
from tests.eval.test_bench_bfcl import oracle_model  # noqa: E402

IDS = ["multi_turn_base_0", "multi_turn_base_1", "multi_turn_base_2", "multi_turn_base_3"]
SOLVED = {"multi_turn_base_1", "multi_turn_base_2"}  # the model answers only these; it gives up on the rest


def config(method: str, batches: int = 2) -> BenchConfig:
    return BenchConfig(run=method, bench="bfcl", options={"ids": IDS}, methods=[method], limit=len(IDS),
                       batches=batches, embedder="hash", model="scripted", max_steps=8)


def run(out: Path, method: str, batches: int = 2) -> RunLog:
    return anyio.run(partial(execute, config(method, batches), out, model=oracle_model(IDS, SOLVED)))


def outcome(log: RunLog) -> list[tuple[Any, ...]]:
    lines = log.read()
    tasks = [(t.batch, t.qid, t.intent, t.em, t.answer, [s.tool for s in t.steps], t.record.status)
             for t in lines if isinstance(t, TaskLog)]
    batches = [(b.batch, b.flushed, len(b.stored_ids), b.pool_size) for b in lines if isinstance(b, BatchLog)]
    return sorted(tasks) + batches


def test_a_forked_then_resumed_run_equals_the_methods_own_run(tmp_path: Path) -> None:
    react = run(tmp_path / "react", "react")
    first = min(t.batch for t in react.tasks() if t.em)
    own = run(tmp_path / "query", "query")
    with pytest.raises(ForkError, match="has not run any of these tasks itself"):
        fork(tmp_path / "react", tmp_path / "forked", "query")
    assert not (tmp_path / "forked").exists()
    result = fork(tmp_path / "react", tmp_path / "forked", "query", unverified=True)
    assert result.first_success == first and result.batches == list(range(1, first + 1))
    assert result.copied == sum(t.batch <= first for t in react.tasks()) and result.checked == 0
    copied = RunLog(tmp_path / "forked" / "runlog.jsonl").tasks()
    assert {t.copied_from for t in copied} == {"react:react"}
    assert all(s.recalled == [] for t in copied for s in t.steps)
    resumed = run(tmp_path / "forked", "query")  # records the first successes, then runs the rest for real
    assert outcome(resumed) == outcome(own)
    stored = [b for b in resumed.read() if isinstance(b, BatchLog) and b.stored_ids]
    assert stored and stored[0].batch == first
    # the method's own tasks are checked against the source, then nothing is copied twice
    again = fork(tmp_path / "react", tmp_path / "query", "query")
    assert (again.copied, again.checked) == (0, result.copied)
    out = CliRunner().invoke(main, ["run", "fork", str(tmp_path / "react"), "--method", "query",
                                    "--out", str(tmp_path / "query")])
    assert out.exit_code == 0 and f"{result.copied} it had run itself were identical" in out.output


def test_fork_refuses_what_is_not_the_same_episode(tmp_path: Path) -> None:
    run(tmp_path / "react", "react")
    query = run(tmp_path / "query", "query")
    lines = query.read()
    tampered = RunLog(tmp_path / "tampered" / "runlog.jsonl")
    for line in lines:  # one answer differs: the premise fails on this machine
        if isinstance(line, TaskLog) and line.qid == IDS[0]:
            line = line.model_copy(update={"answer": "something else"})
        tampered.append(line)
    with pytest.raises(ForkError, match=f"task {IDS[0]} .* differs"):
        fork(tmp_path / "react", tmp_path / "tampered", "query")
    unlabelled = RunLog(tmp_path / "unlabelled" / "runlog.jsonl")
    for line in lines:  # the method's own intents are not the gold ones: a copy's intent would be a guess
        if isinstance(line, TaskLog) and line.qid == IDS[0]:
            line = line.model_copy(update={"intent": None})
        unlabelled.append(line)
    with pytest.raises(ForkError, match=f"task {IDS[0]} of query is not labelled with its gold intent"):
        fork(tmp_path / "react", tmp_path / "unlabelled", "query")
    other = RunLog(tmp_path / "other" / "runlog.jsonl")
    other.append(RunHeader(run="other", config=config("query").model_dump() | {"seed": 1}))
    with pytest.raises(ForkError, match="setting seed=1"):
        fork(tmp_path / "react", tmp_path / "other", "query")
    with pytest.raises(ForkError, match="memory-free"):
        fork(tmp_path / "query", tmp_path / "new", "seer", unverified=True)
    toolqa = RunLog(tmp_path / "toolqa" / "runlog.jsonl")
    toolqa.append(RunHeader(run="t", config={"protocol": "online", "methods": ["react"]}))
    with pytest.raises(ForkError, match="seed demonstrations"):
        fork(tmp_path / "toolqa", tmp_path / "new", "seer", unverified=True)
    assert not (tmp_path / "new").exists()  # nothing written for the refused forks


def test_a_success_the_pool_refuses_is_recorded_then_copied_past(tmp_path: Path) -> None:
    """τ²'s reward for a chat the customer ends before any call is a success with no tool step: the pool
    refuses it and stays empty, so the next batches are still react's. `run fork` records each copied
    success batch and copies on until a success the pool keeps."""
    react = run(tmp_path / "react", "react", batches=4)  # one task a batch: 2 (solved), 0, 1 (solved), 3
    order = [t.qid for t in react.tasks()]
    assert [q in SOLVED for q in order] == [True, False, True, False]
    src = RunLog(tmp_path / "src" / "runlog.jsonl")
    for line in react.read():  # the first success: no tool call at all
        if isinstance(line, TaskLog) and line.qid == order[0]:
            line = line.model_copy(update={"steps": []})
        src.append(line)
    out = CliRunner().invoke(main, ["run", "fork", str(tmp_path / "src"), "--method", "query",
                                    "--out", str(tmp_path / "query"), "--unverified"])
    assert out.exit_code == 0, out.output
    assert "copied 3 tasks of batches [1, 2, 3]" in out.output
    assert "first success the pool keeps in batch 3; the pool kept none of batch 1's successes" in out.output
    forked = RunLog(tmp_path / "query" / "runlog.jsonl")
    batches = {b.batch: b for b in forked.read() if isinstance(b, BatchLog)}
    assert batches[1].rejected == {order[0]: "no successful tool step to learn from"}
    assert (batches[1].pool_size, batches[2].flushed, len(batches[3].stored_ids), batches[3].pool_size) == (
        0, 0, 1, 1)
    assert [t.copied_from for t in forked.tasks()] == ["react:react"] * 3
    resumed = run(tmp_path / "query", "query", batches=4)  # only the last batch runs, on a pool of one
    last = resumed.tasks()[-1]
    assert (last.qid, last.copied_from, last.pool_size) == (order[3], None, 1)
    assert any(s.recalled for s in last.steps)
