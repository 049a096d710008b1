"""library.json and JSONL import/export; seed recall."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seer.pool import ExperiencePool, HashEmbedder, InteropError, RecallRequest, import_file, parse_library
from seer.pool.interop import export_file
from seer.pool.render import parse_step, render_step


def test_step_text_round_trips(shared_dir: Path) -> None:
    records = json.loads((shared_dir / "seer" / "library.json").read_text())
    for record in records:
        for i, text in enumerate(record["steps"], 1):
            assert render_step(parse_step(text), i) == text
    step = parse_step("Step 2: check. <CALL_BEGIN>EdgeCheck[AuthorNet, Chao Zhang, Weihong Lin]<CALL_END>")
    assert step.arguments == {"graph": "AuthorNet", "node1": "Chao Zhang", "node2": "Weihong Lin"}


def test_library_imports_and_flight_seed_recalled_first(shared_dir: Path, pool: ExperiencePool) -> None:
    library = shared_dir / "seer" / "library.json"
    assert import_file(pool, library) == {"read": 8, "added": 8, "skipped": 0}
    assert import_file(pool, library)["skipped"] == 8
    stats = pool.stats()
    assert stats["count"] == 8 and stats["per_intent"]["dblp"] == 3
    out = pool.recall(
        RecallRequest(
            task="How many extra minutes did the AA100 flight take from JFK to LAX on 2022-03-04?",
            intent="flight",
        )
    )
    assert out[0].id == "seed-id_1" and out[0].intent == "flight"
    agenda = pool.get("seed-id_6")
    assert agenda is not None and "[retrieved passages omitted]" in agenda.demo_text
    static = pool.recall(RecallRequest(task="anything", strategy="static", k=8))
    assert len(static) == 8
    # static = the intent's seeds in library order, whatever the question (a fixed per-domain prompt)
    dblp = pool.recall(RecallRequest(task="Who wrote paper X?", intent="dblp", strategy="static", k=4))
    other = pool.recall(RecallRequest(task="How many papers?", intent="dblp", strategy="static", k=4))
    assert [r.intent for r in dblp] == ["dblp"] * 3 and [r.id for r in dblp] == [r.id for r in other]
    mixed = pool.recall(RecallRequest(task="x", intent="dblp", strategy="static", k=4, terms=["s1", "s2"]))
    assert {r.intent for r in mixed} != {"dblp"}


def test_jsonl_round_trip(tmp_path: Path, shared_dir: Path, pool: ExperiencePool) -> None:
    import_file(pool, shared_dir / "seer" / "library.json")
    out = tmp_path / "pool.jsonl"
    assert export_file(pool, out) == 8
    other = ExperiencePool.open(tmp_path / "other.duckdb", HashEmbedder(), intent_labels=None)
    try:
        assert import_file(other, out)["added"] == 8
        assert other.get("seed-id_1") == pool.get("seed-id_1")
    finally:
        other.close()
    lib = tmp_path / "lib.json"
    export_file(pool, lib)
    assert [e.task for e in parse_library(lib)] == [
        e.task for e in parse_library(shared_dir / "seer" / "library.json")
    ]


def test_bad_record_names_line_and_field_and_leaves_pool_unchanged(
    tmp_path: Path, shared_dir: Path, pool: ExperiencePool
) -> None:
    import_file(pool, shared_dir / "seer" / "library.json")
    good = tmp_path / "good.jsonl"
    export_file(pool, good)
    lines = good.read_text().splitlines()
    lines = [line.replace('"seed-', '"copy-') for line in lines]
    bad = json.loads(lines[4])
    bad["steps"][0]["tool"] = ""
    lines[4] = json.dumps(bad)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InteropError, match=r"line 5: field 'steps\.0\.tool'"):
        import_file(pool, path)
    assert pool.count() == 8
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"id": "a", "class": "x", "question": "q", "steps": ["no call here"]}]))
    with pytest.raises(InteropError, match=r"record 0: field 'steps\[0\]'"):
        import_file(pool, broken)
