"""BFCL multi-turn through MCP with a scripted model: tools listed, state checked, successes recorded."""

from __future__ import annotations

import ast
import json
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("bfcl_eval", reason="BFCL is an extra: pip install --no-deps bfcl-eval==2026.3.23 mpmath")

from seer.eval.benchmarks.base import routed  # noqa: E402
from seer.eval.benchmarks.bfcl import BfclBenchmark, check, turn_calls  # noqa: E402
from seer.eval.benchmarks.bfcl.data import entry  # noqa: E402
from seer.eval.calls import format_call, parse_call_args  # noqa: E402
from seer.eval.models.scripted import ScriptedModel  # noqa: E402
from seer.eval.run_bench import BenchConfig, execute  # noqa: E402
from seer.eval.runlog import BatchLog, TaskLog  # noqa: E402

ENTRY = "multi_turn_base_0"  # file system + posting API, 4 turns


def _reply(call: str) -> str:
    """A ground-truth call string as the model's JSON reply."""
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    args = call[call.index("(") + 1: call.rindex(")")]
    return json.dumps({"thought": "Next call.", "tool": node.func.id, "args": args})


def _finish() -> str:
    return json.dumps({"thought": "Done.", "tool": "Finish", "args": "Done."})


def oracle_script(task_id: str, drop_last: bool = False) -> list[str]:
    replies = []
    for turn in entry(task_id)["ground_truth"]:
        calls = turn[:-1] if drop_last and turn else turn
        replies += [_reply(c) for c in calls] + [_finish()]
    return replies


def test_ground_truth_passes_and_a_dropped_call_fails() -> None:
    e = entry(ENTRY)
    assert check(e, [[[c] for c in turn] for turn in e["ground_truth"]]).success
    assert not check(e, [[[c] for c in turn[:-1]] for turn in e["ground_truth"]]).success


def test_python_style_arguments_round_trip() -> None:
    schema = {"properties": {"source": {"type": "string"}, "destination": {"type": "string"},
                             "n": {"type": "integer"}}, "required": ["source", "destination"]}
    assert parse_call_args("source='a.pdf', destination='temp'", schema) == {"source": "a.pdf",
                                                                          "destination": "temp"}
    assert parse_call_args("'a.pdf', 'temp', 3", schema)["n"] == 3
    assert parse_call_args('{"source": "a", "destination": "b", "n": "2"}', schema)["n"] == 2
    assert parse_call_args("a.pdf, temp", schema) == {"source": "a.pdf", "destination": "temp"}
    with pytest.raises(ValueError, match="unknown argument"):
        parse_call_args("src='a'", schema)
    with pytest.raises(ValueError, match="missing"):
        parse_call_args("source='a'", schema)
    with pytest.raises(ValueError, match="comma is missing before destination="):
        parse_call_args("source='a.pdf' destination='temp'", schema)
    assert parse_call_args("source=It's mine, destination='x'", schema)["source"] == "It's mine"
    call = format_call("mv", {"source": "a.pdf", "destination": "temp"})
    assert call == "mv(source='a.pdf', destination='temp')"


def test_server_lists_the_entry_tools_and_keeps_state(tmp_path: Path) -> None:
    bench = BfclBenchmark(ids=[ENTRY])

    async def go() -> tuple[list[str], str, str]:
        async with routed(bench, None) as client:
            session, names = await client.start(ENTRY)
            listed = [t.name for t in (await client.view(names).list_tools()).tools]
            meta = {"seer/session": session}
            await client.call_tool("cd", {"folder": "document"}, meta=meta)
            await client.call_tool("mkdir", {"dir_name": "temp"}, meta=meta)
            out = await client.call_tool("ls", {}, meta=meta)
            other, _ = await client.start(ENTRY)  # a second episode starts from the initial state
            fresh = await client.call_tool("ls", {}, meta={"seer/session": other})
            return listed, out.content[0].text, fresh.content[0].text

    listed, after, fresh = anyio.run(go)
    assert {"cd", "mkdir", "mv", "post_tweet", "Finish"} <= set(listed)
    assert "episode_start" not in listed and "place_order" not in listed  # only the entry's classes
    assert "temp" in after and "temp" not in fresh


def _run(tmp_path: Path, script: list[str], methods: list[str]) -> list[Any]:
    config = BenchConfig(run="t", bench="bfcl", options={"ids": [ENTRY]}, methods=methods, limit=None,
                         batches=1, embedder="hash", model="scripted")
    model = ScriptedModel(script)
    log = anyio.run(lambda: execute(config, tmp_path, model=model))
    assert model.remaining == 0
    return log.read()


def test_a_passing_episode_is_recorded_with_the_bfcl_judge(tmp_path: Path) -> None:
    lines = _run(tmp_path, oracle_script(ENTRY), ["query"])
    task = next(x for x in lines if isinstance(x, TaskLog))
    assert task.em and task.verdict.kind == "bfcl" and task.record.status == "buffered"
    assert [s.tool for s in task.steps][:4] == ["cd", "mkdir", "mv", "Finish"]
    assert all(s.recalled is not None for s in task.steps)  # stepwise recall before every step
    batch = next(x for x in lines if isinstance(x, BatchLog))
    assert batch.flushed == 1 and len(batch.stored_ids) == 1 and batch.pool_size == 1


def test_a_failing_episode_is_scored_by_the_checker_and_not_recorded(tmp_path: Path) -> None:
    lines = _run(tmp_path, oracle_script(ENTRY, drop_last=True), ["query"])
    task = next(x for x in lines if isinstance(x, TaskLog))
    assert not task.em and task.record.status == "skipped"
    assert "state" in task.verdict.detail or "response" in task.verdict.detail
    batch = next(x for x in lines if isinstance(x, BatchLog))
    assert batch.stored_ids == [] and batch.pool_size == 0


def test_a_call_the_function_refuses_is_never_a_demonstration_step(tmp_path: Path) -> None:
    """BFCL shows a function's refusal (``{"error": ...}``) to the model as an ordinary result, and the
    checker replays it; the pool stores the episode without it."""
    script = oracle_script(ENTRY)
    script.insert(0, _reply("cd(folder='no_such_folder')"))
    lines = _run(tmp_path, script, ["query"])
    task = next(x for x in lines if isinstance(x, TaskLog))
    assert task.em and task.steps[0].ok and json.loads(task.steps[0].observation)["error"]
    import duckdb

    with duckdb.connect(str(tmp_path / "pools" / "query.duckdb"), read_only=True) as con:
        (stored,) = con.execute("SELECT steps FROM experiences").fetchone()
    calls = [(s["tool"], s["arguments"]["raw"]) for s in json.loads(stored) if s["tool"] != "Finish"]
    assert calls[:3] == [("cd", "folder='document'"), ("mkdir", "dir_name='temp'"),
                         ("mv", "source='final_report.pdf', destination='temp'")]
    assert all("no_such_folder" not in raw for _, raw in calls)
    bench = BfclBenchmark()
    for observation, refused in [('{"error": "cd: x: No such file or directory"}', True),
                                 ("Error during execution: unexpected keyword 'x'", True),
                                 ('{"error": "' + "cut by the observation limit", True),
                                 ('{"current_working_directory": "document"}', False), ("None", False)]:
        assert bench.pool_step({"tool": "cd", "arguments": {}, "ok": True, "observation": observation})[
            "ok"] is not refused


def test_turn_calls_keep_only_successful_tool_steps() -> None:
    from seer.eval.agent import ActionStep, FinalStep

    steps = [ActionStep(1, None, "", "cd", {"folder": "a"}, "", True, "ok"),
             ActionStep(2, None, "", "mv", {}, "", False, "Error", "tool"),
             ActionStep(3, None, "", "Finish", {"answer": "x"}, "", True, "x")]
    assert turn_calls(FinalStep("x", "finish", None, steps, [])) == [["cd(folder='a')"]]


def oracle_model(ids: list[str], solved: set[str] | None = None) -> ScriptedModel:
    """Replays the ground truth of whichever entry and turn the prompt is about (order-independent); with
    ``solved``, only of those entries, finishing at once on the others."""
    from seer.eval.benchmarks.bfcl import _user_text

    table = {_user_text(turn): (i, k) for i in ids for k, turn in enumerate(entry(i)["question"])}

    def reply(messages: list[dict[str, Any]]) -> str:
        request = messages[1]["content"].rsplit("Request: ", 1)[1].split("\nGive step")[0].strip()
        qid, k = table[request]
        if solved is not None and qid not in solved:
            return _finish()
        step = sum(m["role"] == "assistant" for m in messages)
        calls = entry(qid)["ground_truth"][k]
        return _reply(calls[step]) if step < len(calls) else _finish()

    return ScriptedModel(reply)


def test_concurrent_tasks_of_a_batch_give_the_sequential_results(tmp_path: Path) -> None:
    ids = ["multi_turn_base_0", "multi_turn_base_1", "multi_turn_base_2"]
    outcomes = []
    for concurrency in (1, 3):
        config = BenchConfig(run="t", bench="bfcl", options={"ids": ids}, methods=["query"], limit=None,
                             batches=1, embedder="hash", model="scripted", max_steps=8,
                             concurrency=concurrency)
        log = anyio.run(partial(execute, config, tmp_path / str(concurrency), model=oracle_model(ids)))
        tasks = sorted(log.tasks(), key=lambda t: t.qid)
        outcomes.append([(t.qid, t.em, [s.tool for s in t.steps], t.record.status) for t in tasks])
        assert all(t.em for t in tasks), [t.verdict.detail for t in tasks]  # no state leaked between tasks
        starts = [t.at.timestamp() - t.seconds for t in tasks]
        overlapped = max(starts) < min(t.at.timestamp() for t in tasks)
        assert overlapped == (concurrency > 1)
    assert outcomes[0] == outcomes[1]


def test_seer_opens_its_gate_on_an_intent_it_keeps_failing(tmp_path: Path) -> None:
    """The runner's per-intent record reaches the episode's own agent (its tools are the entry's): once
    the agent has failed an intent the pool holds nothing of, seer shows another intent's best; never
    before the pool has a success or while the intent's record is not poor."""
    ids = [f"multi_turn_base_{i}" for i in (0, 1, 4, 5, 7)]  # 1: file system only; the rest add TwitterAPI
    config = BenchConfig(run="t", bench="bfcl", options={"ids": ids}, methods=["seer"], limit=None,
                         batches=len(ids), embedder="hash", model="scripted", max_steps=8)
    log = anyio.run(partial(execute, config, tmp_path, model=oracle_model(ids, {"multi_turn_base_1"})))
    tasks = sorted(log.tasks(), key=lambda t: t.batch)
    assert [t.em for t in tasks].count(True) == 1 and all(t.intent == t.domain for t in tasks)
    stored: set[str] = set()
    record: dict[str, tuple[int, int]] = {}
    expected, shown = [], []
    for t in tasks:  # one task per batch: the pool and the record change after each
        successes, judged = record.get(t.domain, (0, 0))
        expected.append(bool(stored) and t.domain not in stored and (successes + 1) / (judged + 2) < 0.5)
        shown.append(bool(t.steps[0].recalled))
        record[t.domain] = (successes + t.em, judged + 1)
        stored |= {t.domain} if t.em else set()
    assert any(expected) and not all(expected), [t.qid for t in tasks]  # the stream tests both cases
    assert shown == expected
