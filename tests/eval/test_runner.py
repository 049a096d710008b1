"""The runner against the real server: batches freeze the pool, only judged successes are recorded,
resume skips finished tasks, methods and protocols."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from seer.eval.agent import AgentConfig
from seer.eval.judges import Verdict, exact_match
from seer.eval.methods import METHODS, get_method
from seer.eval.models.scripted import ScriptedModel
from seer.eval.report import own_recall_share, pool_growth
from seer.eval.run_toolqa import stdio_connector
from seer.eval.runlog import BatchLog, RebuildLog, RunLog, TaskLog
from seer.eval.runner import Runner, RunSettings, make_stream, run_methods
from seer.eval.toolqa.questions import Question
from tests.eval.test_agent import solver


def run(
    corpus: Path,
    out: Path,
    questions: list[Question],
    model: Any,
    *,
    methods: tuple[str, ...] = ("seer",),
    batches: int = 2,
    immediate: bool = False,
    protocol: str = "online",

) -> RunLog:
    log = RunLog(out / "runlog.jsonl")
    settings = RunSettings(immediate=immediate, agent=AgentConfig(intent="gold"), source="scripted")
    stream = make_stream(questions, protocol=protocol, batches=batches, seed=0)
    runner = Runner(model, exact_match(), log, settings)

    anyio.run(
        lambda: run_methods(
            runner, [get_method(m) for m in methods], stream, stdio_connector(corpus, out, "hash")
        )
    )
    return log


def test_batched_pool_never_changes_mid_batch(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    log = run(real_corpus, tmp_path, coffee_questions, ScriptedModel(solver()), batches=2)
    tasks, batches = log.tasks(), [x for x in log.read() if isinstance(x, BatchLog)]
    assert [t.batch for t in tasks] == [1, 1, 1, 2, 2, 2]
    assert all(t.em and t.verdict.kind == "exact_match" for t in tasks)
    first, second = tasks[:3], tasks[3:]
    # inside a batch, every recall saw the same frozen pool: empty in batch 1, batch 1's successes in batch 2
    for group, size in ((first, 0), (second, 3)):
        assert {t.pool_size for t in group} == {size}
        assert {len(s.recalled or []) for t in group for s in t.steps} == {size}
    assert all(t.record.status == "buffered" for t in tasks)
    assert [(b.batch, b.flushed, len(b.stored_ids), b.pool_size) for b in batches] == [
        (1, 3, 3, 3),
        (2, 3, 3, 6),
    ]
    recalled = {r.id for t in second for s in t.steps for r in s.recalled or []}
    assert recalled == set(batches[0].stored_ids)  # only what batch 1 flushed


def test_a_success_that_repeats_a_stored_task_is_logged_as_merged_not_lost(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    """The same question asked again under another id: its success merges into the experience already
    stored (no new row), and the batch line says so, so a flat pool size is not read as nothing recorded."""
    originals = coffee_questions[:3]
    again = [dataclasses.replace(q, qid=f"{q.qid}-again") for q in originals]
    log = run(real_corpus, tmp_path, [*originals, *again], ScriptedModel(solver()), batches=2)
    batches = [x for x in log.read() if isinstance(x, BatchLog)]
    stored = [i for b in batches for i in b.stored_ids]
    merged = [i for b in batches for i in b.merged_into]
    assert len(stored) == 3 and len(merged) == 3 and set(merged) == set(stored)
    assert batches[-1].pool_size == 3
    growth = pool_growth(batches)["seer"]
    assert sum(g.merged for g in growth) == 3 and "merged" in " ".join(g.text() for g in growth)


class _AlwaysRight:
    """A judge that calls every answer right (the Judge protocol, written out)."""

    kind = "exact_match"

    def __call__(self, question: str, answer: str | None, gold: str | None, trajectory: str = "") -> Verdict:
        return Verdict(True, "exact_match")


def test_a_success_the_server_refuses_is_logged_with_its_reason(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    """A success without one working tool call (as when τ²'s customer ends the chat at once) teaches
    nothing, so the server refuses it; the batch line names the task and the server's reason."""

    def blind(messages: list[dict[str, Any]]) -> str:
        if "Classify" in messages[-1]["content"]:
            return '{"intent": "coffee"}'
        return json.dumps({"thought": "Load it.", "tool": "LoadDB", "args": "no_such_db"})  # halts the task

    log = RunLog(tmp_path / "runlog.jsonl")
    lucky = _AlwaysRight()
    runner = Runner(ScriptedModel(blind), lucky, log, RunSettings(agent=AgentConfig(intent="gold")))
    stream = make_stream(coffee_questions[:2], protocol="online", batches=1, seed=0)
    anyio.run(lambda: run_methods(runner, [get_method("seer")], stream,
                                  stdio_connector(real_corpus, tmp_path, "hash")))
    tasks, (batch,) = log.tasks(), [x for x in log.read() if isinstance(x, BatchLog)]
    assert all(t.verdict.success and not any(s.ok for s in t.steps) for t in tasks)
    assert (batch.flushed, batch.stored_ids, batch.pool_size) == (2, [], 0)
    assert batch.rejected == {t.qid: "no successful tool step to learn from" for t in tasks}
    assert pool_growth([batch])["seer"][0].text() == "0 (+0, 2 refused)"


def test_only_judged_successes_are_recorded(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    wrong = {q.question for q in coffee_questions[::2]}
    log = run(
        real_corpus,
        tmp_path,
        coffee_questions,
        ScriptedModel(solver(wrong=lambda q: q in wrong)),
        immediate=True,
    )
    tasks = log.tasks()
    for t in tasks:
        assert t.em == (t.question not in wrong) == t.verdict.success
        assert t.record.status == ("stored" if t.verdict.success else "skipped")
    stored = [t for t in tasks if t.record.status == "stored"]
    assert len(stored) == 3 and len({t.record.id for t in stored}) == 3
    # immediate: the pool grows after each success
    assert [t.pool_size for t in stored] == [1, 2, 3]


def test_react_records_nothing_and_methods_have_own_pools(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    log = run(
        real_corpus,
        tmp_path,
        coffee_questions[:2],
        ScriptedModel(solver()),
        methods=("react", "seer"),
        batches=1,
        immediate=True,
    )
    tasks = log.tasks()
    react = [t for t in tasks if t.method == "react"]
    assert all(t.record.status == "skipped" and all(s.recalled is None for s in t.steps) for t in react)
    names = {p.name for p in (tmp_path / "pools").iterdir() if p.suffix == ".duckdb"}
    assert "seer.duckdb" in names and names <= {"react.duckdb", "seer.duckdb"}  # react never opens its pool
    assert [t.record.status for t in tasks if t.method == "seer"] == ["stored", "stored"]
    assert all(t.cpu_seconds > 0 for t in tasks)  # the harness's own CPU time per task is logged
    for t in tasks:  # prompt reuse is logged per step and summed per task
        assert t.cached_prompt_tokens == sum(s.cached_prompt_tokens for s in t.steps)
        assert all(0 < s.cached_prompt_tokens < s.prompt_tokens for s in t.steps[1:])


def test_resume_skips_finished_tasks_and_flushes_the_open_batch(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    brain = solver()
    seen: list[str] = []

    def crashing(messages: list[dict[str, Any]]) -> str:
        reply = brain(messages)
        if json.loads(reply)["tool"] == "LoadDB":
            seen.append(messages[-1]["content"])
            if len(seen) == 3:  # crash in task 3, the last of batch 1: its two successes are not flushed
                raise RuntimeError("simulated crash")
        return reply

    with pytest.raises(BaseException) as info:  # noqa: B017 - may arrive wrapped in an ExceptionGroup
        run(real_corpus, tmp_path, coffee_questions, ScriptedModel(crashing), batches=2)
    assert "simulated crash" in _flatten(info.value)
    log = RunLog(tmp_path / "runlog.jsonl")
    assert len(log.tasks()) == 2
    with log.path.open("a") as fh:
        fh.write('{"kind": "task", "schema_version": 1, "qid": "torn')  # a torn last line
    model = ScriptedModel(solver())
    run(real_corpus, tmp_path, coffee_questions, model, batches=2)
    tasks = log.tasks()
    assert [t.qid for t in tasks] == list(dict.fromkeys(t.qid for t in tasks))  # no task twice
    assert len(tasks) == 6
    asked = [p for p in model.prompts if "Give step 1" in p[-1]["content"]]
    assert len(asked) == 4  # only the unfinished tasks ran again
    batches = [x for x in log.read() if isinstance(x, BatchLog)]
    assert [(b.batch, b.flushed) for b in batches] == [(1, 3), (2, 3)]  # batch 1's two earlier successes kept
    assert batches[-1].pool_size == 6


def test_resume_rebuilds_a_lost_pool_from_the_log(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    """Only the log survives (e.g. it was committed, the run folder was not): the resume replays its
    records, so batch 3 recalls from the same pool as it would have, and the new ids count as the run's."""
    brain = solver()
    calls: list[int] = []

    def crashing(messages: list[dict[str, Any]]) -> str:
        reply = brain(messages)
        if json.loads(reply)["tool"] == "LoadDB":
            calls.append(1)
            if len(calls) == 5:  # task 5, in batch 3: batches 1 and 2 (2 successes each) were flushed
                raise RuntimeError("simulated crash")
        return reply

    with pytest.raises(BaseException):  # noqa: B017 - may arrive wrapped in an ExceptionGroup
        run(real_corpus, tmp_path, coffee_questions, ScriptedModel(crashing), batches=3)
    (tmp_path / "pools" / "seer.duckdb").unlink()
    settings = RunSettings(agent=AgentConfig(intent="gold"), source="scripted",
                           rebuild_pools=frozenset({"seer"}))
    log = RunLog(tmp_path / "runlog.jsonl")
    stream = make_stream(coffee_questions, protocol="online", batches=3, seed=0)
    runner = Runner(ScriptedModel(solver()), exact_match(), log, settings)
    anyio.run(lambda: run_methods(runner, [get_method("seer")], stream,
                                  stdio_connector(real_corpus, tmp_path, "hash")))
    lines = log.read()
    rebuilt = [x for x in lines if isinstance(x, RebuildLog)]
    assert len(rebuilt) == 1 and rebuilt[0].replayed == 4 and rebuilt[0].pool_size == 4
    last = [t for t in log.tasks() if t.batch == 3]
    assert len(last) == 2 and {t.pool_size for t in last} == {4}  # the rebuilt pool, not an empty one
    recalled = {r.id for t in last for s in t.steps for r in s.recalled or []}
    assert recalled and recalled <= set(rebuilt[0].stored_ids)
    share = own_recall_share(log.tasks(), [x for x in lines if isinstance(x, BatchLog | RebuildLog)])
    assert [(b, own) for b, own, _ in share["seer"]][-1] == (3, len([r for t in last for s in t.steps
                                                                   for r in s.recalled or []]))
    assert [x.pool_size for x in lines if isinstance(x, BatchLog)] == [2, 4, 6]


def _flatten(exc: BaseException) -> str:
    parts = [repr(exc)]
    for sub in getattr(exc, "exceptions", ()):
        parts.append(_flatten(sub))
    return " ".join(parts)


def test_streams_and_methods() -> None:
    qs = [Question(f"{d}-{i}", f"q {d} {i}", "a", d, "easy") for d in ("coffee", "flight") for i in range(10)]
    online = make_stream(qs, protocol="online", batches=4, seed=1)
    assert (
        len(online) == 20
        and {s.batch for s in online} == {1, 2, 3, 4}
        and {s.phase for s in online} == {"online"}
    )
    assert [s.batch for s in online] == sorted(s.batch for s in online)
    held = make_stream(qs, protocol="heldout", batches=2, seed=1)
    train = {s.question.qid for s in held if s.phase == "train"}
    test = {s.question.qid for s in held if s.phase == "test"}
    assert len(train) == len(test) == 10 and not train & test
    assert held[-1].phase == "test"
    assert get_method("seer@2").recall.k == 2  # type: ignore[union-attr]
    assert get_method("query").recall.terms == ["s1"]  # type: ignore[union-attr]
    assert get_method("react").recall is None and not get_method("react").learn
    assert {"seer-no-s1", "seer-no-s2", "seer-no-s3", "seer-goal", "seer-process", "static", "random"} <= set(
        METHODS
    )
    with pytest.raises(ValueError):
        get_method("nope")


def test_heldout_test_split_is_frozen(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    log = run(real_corpus, tmp_path, coffee_questions, ScriptedModel(solver()), batches=1, protocol="heldout")
    tasks: list[TaskLog] = log.tasks()
    train = [t for t in tasks if t.phase == "train"]
    test = [t for t in tasks if t.phase == "test"]
    assert len(train) == len(test) == 3
    assert all(t.record.status == "skipped" and t.pool_size == 3 for t in test)


def test_parallel_methods_give_the_sequential_results(
    real_corpus: Path, tmp_path: Path, coffee_questions: list[Question]
) -> None:
    wrong = ScriptedModel(solver(wrong=lambda q: q.endswith("6?")))  # one answer wrong: not all alike
    one = run(real_corpus, tmp_path / "a", coffee_questions[:3], wrong, methods=("react", "seer", "query"))
    solver_wrong = solver(wrong=lambda q: q.endswith("6?"))
    log = RunLog(tmp_path / "b" / "runlog.jsonl")
    settings = RunSettings(agent=AgentConfig(intent="gold"), source="scripted")
    stream = make_stream(coffee_questions[:3], protocol="online", batches=2, seed=0)
    models: list[ScriptedModel] = []

    def runner_for(method: Any) -> Runner:
        models.append(ScriptedModel(solver_wrong))
        return Runner(models[-1], exact_match(), log, settings)

    methods = [get_method(m) for m in ("react", "seer", "query")]
    connect = stdio_connector(real_corpus, tmp_path / "b", "hash")
    out = anyio.run(lambda: run_methods(runner_for, methods, stream, connect))
    assert list(out) == ["react", "seer", "query"] and len(models) == 3  # one model per method, all at once
    key = lambda t: (t.method, t.qid, t.em, t.answer, t.record.status, [s.tool for s in t.steps])  # noqa: E731
    assert sorted(map(key, log.tasks())) == sorted(map(key, one.tasks()))
    assert any(not t.em for t in one.tasks()) and any(t.em for t in one.tasks())


def test_cli_run_and_resume(real_corpus: Path, official_questions: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seer.eval.cli import run as run_group

    out = tmp_path / "run"
    args = [
        "toolqa",
        "--model",
        "scripted",
        "--corpus",
        str(real_corpus),
        "--questions",
        str(official_questions),
        "--domains",
        "coffee",
        "--limit",
        "2",
        "--batches",
        "1",
        "--methods",
        "react,seer",
        "--embedder",
        "hash",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(run_group, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (out / "report.md").is_file() and len(RunLog(out / "runlog.jsonl").tasks()) == 4
    again = CliRunner().invoke(run_group, args)
    assert again.exit_code != 0 and "--resume" in again.output
    resumed = CliRunner().invoke(run_group, ["toolqa", "--resume", "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert len(RunLog(out / "runlog.jsonl").tasks()) == 4
    assert "| all | seer | 2 |" in (out / "report.md").read_text()


def test_resume_refuses_a_method_whose_name_now_means_something_else(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seer.eval.methods import check_resume, definition_problems, definitions
    from seer.eval.runlog import RunHeader, RunLog
    from seer.seer_mcp.cli import main

    now = definitions(["react", "seer@2"], 4)
    assert now["seer@2"]["recall"]["k"] == 2 and now["react"] == {"learn": False, "recall": None}
    assert definition_problems(now, ["react", "seer@2"], 4) == []
    before = {**now, "seer@2": {**now["seer@2"], "recall": {**now["seer@2"]["recall"], "open_below": None}}}
    (problem,) = definition_problems(before, ["react", "seer@2"], 4)
    assert problem.startswith("'seer@2' was") and "'open_below': None" in problem
    # a log from before definitions were stored: only a renamed method is refused
    assert definition_problems({}, ["react", "query"], 4) == []
    (problem,) = definition_problems({}, ["seer"], 4)
    assert "since 2026-12-03" in problem and "'seer-gated'" in problem
    header = RunHeader(run="r", config={}, seer_version="0.1.0")
    with pytest.raises(ValueError, match=r"runlog.jsonl: resuming would change .* \(version 0.1.0\)"):
        check_resume(header, ["seer"], 4, tmp_path / "runlog.jsonl")

    for bench in ("toolqa", "bfcl"):  # both harnesses check before loading anything
        out = tmp_path / bench
        config = {"run": bench, "methods": ["seer"], "k": 4}
        config |= {"bench": "bfcl"} if bench == "bfcl" else {}
        RunLog(out / "runlog.jsonl").append(RunHeader(run=bench, config=config, definitions=before | {
            "seer": before["seer@2"] | {"recall": {**before["seer@2"]["recall"], "k": 4}}}))
        result = CliRunner().invoke(main, ["run", bench, "--resume", "--out", str(out)])
        assert result.exit_code != 0 and "resuming would change what the run measures" in result.output, (
            result.output)
