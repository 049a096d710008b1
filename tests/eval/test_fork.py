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


def config(method: str) -> BenchConfig:
    return BenchConfig(run=method, bench="bfcl", options={"ids": IDS}, methods=[method], limit=len(IDS),
                       batches=2, embedder="hash", model="scripted", max_steps=8)


def run(out: Path, method: str) -> RunLog:
    return anyio.run(partial(execute, config(method), out, model=oracle_model(IDS, SOLVED)))


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
