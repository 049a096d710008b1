"""Recall strategies, filters, ordering and the ANN path against brute force."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, Step, import_file


@pytest.fixture
def filled(pool: ExperiencePool, record) -> ExperiencePool:  # type: ignore[no-untyped-def]
    record(
        pool,
        "what was the delay of flight AA1 from ATL",
        "flight",
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
    )
    record(pool, "what was the opening price of coffee on monday", "coffee", ["SQLInterpreter", "Finish"])
    record(
        pool, "who collaborated with Chao Zhang in dblp", "dblp", ["LoadGraph", "NeighbourCheck", "Finish"]
    )
    record(pool, "how many papers did Wei Lin publish in dblp", "dblp", ["LoadGraph", "NodeCheck", "Finish"])
    return pool


def test_goal_step1_uses_query_and_reuses_it_later(filled: ExperiencePool) -> None:
    task = "what was the delay of flight DL5 from ATL"
    first = filled.recall(RecallRequest(task=task, intent="flight", strategy="goal", k=2))
    later = filled.recall(
        RecallRequest(
            task=task,
            intent="flight",
            strategy="goal",
            k=2,
            steps_so_far=[Step(tool="LoadGraph", arguments={"graph": "dblp"})],
        )
    )
    assert first[0].intent == "flight"
    assert [r.id for r in first] == [r.id for r in later]
    assert [r.s2 for r in later] == [0.0, 0.0]


def test_hybrid_switches_from_query_to_trajectory(filled: ExperiencePool) -> None:
    task = "who collaborated with Chao Zhang in dblp"
    step1 = filled.recall(RecallRequest(task=task, k=1, terms=["s1", "s2"]))
    assert step1[0].task == task and step1[0].s1 == pytest.approx(1.0, abs=1e-5)  # query vs stored query
    steps = [Step(thought=f"use LoadGraph {task}", tool="LoadGraph", arguments={"raw": f"loadgraph {task}"})]
    step2 = filled.recall(RecallRequest(task=task, k=4, terms=["s1", "s2"], steps_so_far=steps))
    by_id = {r.task: r for r in step2}
    assert by_id[task].s2 == 1.0 and by_id["what was the opening price of coffee on monday"].s2 == 0.0
    assert step2[0].task == task
    process = filled.recall(RecallRequest(task=task, k=4, strategy="process", terms=["s1", "s2"]))
    assert process[0].s1 < step1[0].s1  # process at step 1 compares the query with stored trajectories


def test_every_result_carries_terms_and_score(filled: ExperiencePool) -> None:
    out = filled.recall(RecallRequest(task="coffee price", intent="coffee", k=4))
    assert len(out) == 4
    for r in out:
        assert r.score == pytest.approx(r.s1 + r.s2 + r.s3, abs=1e-5)
    assert out[0].intent == "coffee" and out[0].s3 == 1.0
    assert [r.score for r in out] == sorted((r.score for r in out), reverse=True)


def test_switches_drop_terms(filled: ExperiencePool) -> None:
    out = filled.recall(RecallRequest(task="coffee price", intent="coffee", k=4, terms=["s3"]))
    assert all(r.score == r.s3 for r in out)


def test_static_and_random(filled: ExperiencePool, tmp_path: Path) -> None:
    done = "Step 2: Done. <CALL_BEGIN>Finish[1]<CALL_END>"
    library = [
        {"id": f"s{i}", "class": intent, "question": question,
         "steps": [f"Step 1: Look it up. <CALL_BEGIN>{tool}<CALL_END>", done]}
        for i, (intent, question, tool) in enumerate([
            ("dblp", "How many papers did Ann write?", "LoadGraph[dblp]"),
            ("flight", "Was flight AA1 cancelled?", "LoadDB[flights]"),
            ("dblp", "Who cited paper P?", "LoadGraph[dblp]"),
        ])
    ]
    (tmp_path / "library.json").write_text(json.dumps(library))
    import_file(filled, tmp_path / "library.json")
    seeds = {e.id: e.task for e in filled.experiences() if e.judge_kind == "seed"}
    assert len(seeds) == 3
    for task in ("x", "completely different: who collaborated with Chao Zhang"):
        got = filled.recall(RecallRequest(task=task, intent="dblp", strategy="static", k=4))
        # the intent's seeds in library order, never the recorded (non-seed) dblp experiences
        assert [r.task for r in got] == ["How many papers did Ann write?", "Who cited paper P?"]
    r1 = filled.recall(RecallRequest(task="x", strategy="random", k=2, seed=3))
    r2 = filled.recall(RecallRequest(task="y", strategy="random", k=2, seed=3))
    assert [r.id for r in r1] == [r.id for r in r2]


def test_filters(filled: ExperiencePool, record) -> None:  # type: ignore[no-untyped-def]
    record(
        filled,
        "another coffee question about closing price",
        "coffee",
        ["SQLInterpreter", "Finish"],
        source_task_id="coffee-7",
    )
    out = filled.recall(RecallRequest(task="coffee price", intent="coffee", k=4, exclude_task_id="coffee-7"))
    assert all("closing" not in r.task for r in out)
    out = filled.recall(RecallRequest(task="dblp", intent="dblp", k=4, max_per_template=1))
    templates = [(r.intent, tuple(r.tool_chain)) for r in out]
    assert len(templates) == len(set(templates))
    out = filled.recall(RecallRequest(task="dblp", intent="dblp", k=4, token_budget=80))
    assert sum((len(r.demo_text) + 3) // 4 for r in out) <= 80


def test_shuffled_order_is_seeded(filled: ExperiencePool) -> None:
    req = RecallRequest(task="dblp papers", intent="dblp", k=4, order="shuffled", seed=1)
    a, b = filled.recall(req), filled.recall(req)
    ranked = filled.recall(req.model_copy(update={"order": "ranked"}))
    assert [r.id for r in a] == [r.id for r in b]
    assert sorted(r.id for r in a) == sorted(r.id for r in ranked)


def test_times_recalled_counted(filled: ExperiencePool) -> None:
    out = filled.recall(RecallRequest(task="coffee", intent="coffee", k=1))
    filled.flush()
    exp = filled.get(out[0].id)
    assert exp is not None and exp.times_recalled == 1


def _random_pool(
    path: Path, n: int, threshold: int, near: tuple[str, ...] = ()
) -> tuple[ExperiencePool, dict]:
    """Random unit vectors; for each text in `near`, 10 trajectories close to its embedding (as real
    stored trajectories resemble the current one)."""
    from seer.eval.bench.recall import synthetic_columns

    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None, ann_threshold=threshold)
    rng = np.random.default_rng(7)
    cols = synthetic_columns(rng, 0, n, 384)
    for t, text in enumerate(near):
        center = pool.embedder.embed([text])[0]
        rows = rng.choice(n, 10, replace=False)
        noisy = center + rng.normal(0, 0.05 * (1 + t), (10, 384)).astype(np.float32)
        cols["trajectory_embedding"][rows] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    pool.bulk_insert(cols)
    return pool, cols


def _brute_force(cols: dict, req: RecallRequest, vec: np.ndarray, column: str, tools: set[str]) -> list[str]:
    import json

    mat = cols[f"{column}_embedding"]
    s1 = (1 + mat @ vec) / 2
    s2 = np.array(
        [len(tools & set(json.loads(c))) / len(tools) if tools else 0.0 for c in cols["tool_chain"]]
    )
    s3 = (cols["intent"] == req.intent).astype(np.float32)
    score = s1.astype(np.float32) + s2.astype(np.float32) + s3  # all terms, all weights 1: the paper's sum
    return [str(cols["id"][i]) for i in np.argsort(-score, kind="stable")[: req.k]]


def test_exact_ranking_matches_brute_force(tmp_path: Path) -> None:
    pool, cols = _random_pool(tmp_path / "e.duckdb", 3000, threshold=10**9)
    try:
        steps = [Step(tool="LoadDB", arguments={"target_db": "flight"})]
        req = RecallRequest(task="flight delay", intent="flight", steps_so_far=steps, k=4)
        vec = pool.embedder.embed(["Step 1: <CALL_BEGIN>LoadDB[flight]<CALL_END>"])[0]
        assert [r.id for r in pool.recall(req)] == _brute_force(cols, req, vec, "trajectory", {"LoadDB"})
    finally:
        pool.close()


def test_ann_path_rescored_exactly_matches_exact(tmp_path: Path) -> None:
    texts = tuple(f"Step 1: <CALL_BEGIN>LoadDB[t{i}]<CALL_END>" for i in range(3))
    pool, cols = _random_pool(tmp_path / "a.duckdb", 6000, threshold=1000, near=texts)
    try:
        assert pool.ann is not None
        for i, intent in enumerate(("flight", "dblp", "gsm8k")):
            steps = [Step(tool="LoadDB", arguments={"target_db": f"t{i}"})]
            req = RecallRequest(task=f"q{i}", intent=intent, steps_so_far=steps, k=4)
            text = f"Step 1: <CALL_BEGIN>LoadDB[t{i}]<CALL_END>"
            vec = pool.embedder.embed([text])[0]
            got = [r.id for r in pool.recall(req)]
            assert got == _brute_force(cols, req, vec, "trajectory", {"LoadDB"})
        pool.close()
        reopened = ExperiencePool.open(
            tmp_path / "a.duckdb", HashEmbedder(), intent_labels=None, ann_threshold=1000
        )
        assert reopened.ann is not None and len(reopened.ann) == 6000  # restored from the persisted index
        reopened.close()
    except BaseException:
        pool.close()
        raise


@pytest.mark.parametrize("threshold", [10**9, 1000])
def test_blend_averages_trajectory_and_question_similarity(tmp_path: Path, threshold: int) -> None:
    text = "Step 1: <CALL_BEGIN>LoadDB[t0]<CALL_END>"
    pool, cols = _random_pool(tmp_path / "b.duckdb", 6000, threshold=threshold, near=(text,))
    try:
        req = RecallRequest(task="q0", intent="flight", k=4, strategy="blend",
                            steps_so_far=[Step(tool="LoadDB", arguments={"target_db": "t0"})])
        vec, goal = pool.embedder.embed([text, "q0"])
        s1 = ((1 + cols["trajectory_embedding"] @ vec) / 2 + (1 + cols["query_embedding"] @ goal) / 2) / 2
        s2 = np.array([float("LoadDB" in c) for c in cols["tool_chain"]])
        s3 = (cols["intent"] == "flight").astype(np.float32)
        score = s1.astype(np.float32) + s2.astype(np.float32) + s3
        expected = [str(cols["id"][i]) for i in np.argsort(-score, kind="stable")[:4]]
        got = pool.recall(req)
        assert [r.id for r in got] == expected
        assert got[0].s1 == pytest.approx(float(s1[np.argmax(score)]), abs=1e-5)
    finally:
        pool.close()


def test_same_intent_keeps_other_domains_out(filled: ExperiencePool) -> None:
    task = "what was the delay of flight DL5 from ATL"
    mixed = filled.recall(RecallRequest(task=task, intent="flight", strategy="blend", k=4))
    assert {r.intent for r in mixed} == {"flight", "coffee", "dblp"}  # without the filter: every domain
    only = filled.recall(RecallRequest(task=task, intent="flight", strategy="blend", k=4, same_intent=True))
    assert [r.intent for r in only] == ["flight"]
    steps = [Step(tool="LoadDB", arguments={"target_db": "flights"})]
    request = RecallRequest(task=task, intent="flight", k=4, same_intent=True, steps_so_far=steps)
    later = filled.recall(request)
    assert [r.intent for r in later] == ["flight"]


def test_same_intent_with_no_experience_of_it_recalls_nothing(filled: ExperiencePool) -> None:
    task = "what is the price of the airbnb listing hosted by John"
    assert filled.recall(RecallRequest(task=task, intent="airbnb", k=4))  # other domains fill the slots
    assert filled.recall(RecallRequest(task=task, intent="airbnb", k=4, same_intent=True)) == []


def test_an_unseen_intent_may_fall_back_to_every_domain(filled: ExperiencePool) -> None:
    task = "what is the price of the airbnb listing hosted by John"
    gated = {"same_intent": True, "min_overlap": 0.85, "fallback": "unseen_intent"}
    anywhere = filled.recall(RecallRequest(task=task, intent="airbnb", k=4, strategy="blend"))
    fallback = filled.recall(RecallRequest(task=task, intent="airbnb", k=4, strategy="blend", **gated))
    assert fallback and [r.id for r in fallback] == [r.id for r in anywhere]  # no gate: a domain never seen
    flight = "what was the delay of flight DL5 from ATL"  # a seen intent keeps both filters
    seen = filled.recall(RecallRequest(task=flight, intent="flight", k=4, strategy="blend", **gated))
    assert {r.intent for r in seen} <= {"flight"}


def test_a_question_type_with_nothing_stored_may_fall_back_to_other_domains(filled: ExperiencePool) -> None:
    gated = {"same_intent": True, "min_overlap": 0.85, "fallback": "other_intents", "strategy": "blend"}
    same_type = filled.recall(RecallRequest(task="what was the delay of flight DL5 from ATL", intent="flight",
                                            k=4, **gated))  # type: ignore[arg-type]
    assert [r.intent for r in same_type] == ["flight"]  # its own type is stored: no fallback
    other_type = "how many flights were cancelled on 2022-01-05 from JFK"
    shown = filled.recall(RecallRequest(task=other_type, intent="flight", k=4, **gated))  # type: ignore[arg-type]
    assert len(shown) == 3 and {r.intent for r in shown} == {"coffee", "dblp"}  # never flight's other type
    plain = dict(gated, fallback="nothing")
    assert filled.recall(RecallRequest(task=other_type, intent="flight", k=4, **plain)) == []  # type: ignore[arg-type]


def test_min_overlap_keeps_only_the_same_question_type(pool: ExperiencePool, record) -> None:  # type: ignore[no-untyped-def]
    from seer.pool.render import question_overlap

    assert question_overlap("What was the lowest price of coffee on 2004-09-27?",
                            "What was the lowest price of coffee on 2011-05-18?") == 1.0  # dates don't count
    assert question_overlap("What is the room type of Stylish Duplex 8 (id: 17) in Harlem?",
                            "What is the room type of Cozy Loft (id: 99) in Queens?") == 1.0  # nor names
    assert question_overlap("What was the lowest price of coffee on 2004-09-27?",
                            "What was the opening price of coffee on 2011-05-18?") < 0.85
    for day, kind in (("01", "opening"), ("02", "opening"), ("03", "lowest")):
        question = f"What was the {kind} price of coffee on 2001-01-{day}?"
        record(pool, question, "coffee", ["SQLInterpreter", "Finish"])
    task = "What was the lowest price of coffee on 2004-09-27?"
    assert len(pool.recall(RecallRequest(task=task, intent="coffee", k=4))) == 3
    gated = pool.recall(RecallRequest(task=task, intent="coffee", k=4, min_overlap=0.85))
    assert [r.task for r in gated] == ["What was the lowest price of coffee on 2001-01-03?"]
    other = "Was 2004-09-27 a bearish or bullish day for coffee price?"
    assert pool.recall(RecallRequest(task=other, intent="coffee", k=4, min_overlap=0.85)) == []
