"""The synthetic corpus: layout, determinism, exact answers and oracle-chain replay."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import pytest

from seer.eval.toolqa.questions import QuestionFileError, load_questions
from seer.eval.toolqa.scoring import exact_match
from seer.eval.toolqa.synth import (
    DOMAINS,
    TEMPLATES,
    BuildReport,
    airbnb,
    build_corpus,
    flights,
    seed_instances,
)
from seer.eval.toolqa.templates import replay_chain, write_seed_experiences

from .conftest import SEED


def test_layout_and_formats(small_root: Path) -> None:
    ec = small_root / "external_corpus"
    with (ec / "flights" / "Combined_Flights_2022.csv").open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == flights.COLUMNS and len(header) == 61
    with (ec / "airbnb" / "Airbnb_Open_Data.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows[0]) == 26 and tuple(rows[0]) == airbnb.COLUMNS
    assert rows[0]["price"].startswith("$") and rows[0]["price"].endswith(" ")
    biz = json.loads((ec / "yelp" / "yelp_academic_dataset_business.json").open().readline())
    assert set(biz) == {
        "business_id",
        "name",
        "address",
        "city",
        "state",
        "postal_code",
        "latitude",
        "longitude",
        "stars",
        "review_count",
        "is_open",
        "attributes",
        "categories",
        "hours",
    }
    for name in (
        "paper_net",
        "author_net",
        "title2id_dict",
        "author2id_dict",
        "id2title_dict",
        "id2author_dict",
    ):
        assert (ec / "dblp" / f"{name}.pkl").is_file()
    with (ec / "dblp" / "author_net.pkl").open("rb") as fh:
        g = pickle.load(fh)
    u, v, attrs = next(iter(g.edges(data=True)))
    assert set(attrs) == {"weight", "papers"} and set(g.nodes[u]) == {"name", "org"}
    assert set(json.loads((ec / "agenda" / "agenda_descriptions_merged.jsonl").open().readline())) == {
        "event"
    }
    assert set(json.loads((ec / "scirex" / "Preprocessed_Scirex.jsonl").open().readline())) == {
        "id",
        "content",
    }
    assert (
        ec / "coffee" / "coffee_price.csv"
    ).open().readline().strip() == "Date,Open,High,Low,Close,Volume,Currency"


def test_every_template_has_questions_and_files_load(small_build: BuildReport) -> None:
    for domain in DOMAINS:
        for level in ("easy", "hard"):
            tpls = TEMPLATES[domain][level]
            if not tpls:
                assert not (small_build.out / "questions" / level / f"{domain}-{level}.jsonl").exists()
                continue
            qs = load_questions(small_build.out / "questions", domain, level)
            assert qs[0].qid == f"{level}-{domain}-0000"
            made = {i.template for i in small_build.instances[(domain, level)]}
            assert made == {t.name for t in tpls}, (domain, level)


def test_answers_recompute_from_parsed_questions(small_build: BuildReport) -> None:
    for (domain, level), insts in small_build.instances.items():
        tpls = {t.name: t for t in TEMPLATES[domain][level]}
        for inst in insts[::7]:
            tpl = tpls[inst.template]
            assert tpl.question(inst.params) == inst.question
            assert tpl.answer(small_build.data[domain], inst.params) == inst.answer
            assert inst.chain[-1] == ("Finish", {"answer": str(inst.answer)})


def test_same_seed_same_bytes(small_build: BuildReport, tmp_path: Path) -> None:
    again = build_corpus(tmp_path / "again", SEED, "small")
    a = sorted(p.relative_to(small_build.out) for p in small_build.out.rglob("*") if p.is_file())
    b = sorted(p.relative_to(again.out) for p in again.out.rglob("*") if p.is_file())
    assert a == b
    for rel in a:
        assert (small_build.out / rel).read_bytes() == (again.out / rel).read_bytes(), rel


def test_small_build_is_fast(small_build: BuildReport) -> None:
    assert small_build.seconds < 30


def test_bad_question_file_names_file_line_field(tmp_path: Path) -> None:
    path = tmp_path / "easy" / "coffee-easy.jsonl"
    path.parent.mkdir()
    path.write_text(
        '{"qid": "easy-coffee-0000", "question": "q", "answer": "1"}\n{"qid": "x", "answer": "2"}\n'
    )
    with pytest.raises(QuestionFileError, match=r"coffee-easy.jsonl:2: field 'question'"):
        load_questions(tmp_path, "coffee", "easy")
    path.write_text("{not json\n")
    with pytest.raises(QuestionFileError, match=r"coffee-easy.jsonl:1: invalid JSON"):
        load_questions(tmp_path, "coffee", "easy")


def test_seed_experiences_differ_from_eval(small_build: BuildReport, tmp_path: Path) -> None:
    seeds = seed_instances(small_build, seed=SEED + 1)
    eval_qs = {i.question for v in small_build.instances.values() for i in v}
    assert seeds and not {s.question for s in seeds} & eval_qs
    tools = pytest.importorskip("seer.tools")
    corpus = tools.Corpus(small_build.out / "external_corpus", tmp_path / "cache")
    n = write_seed_experiences(tmp_path / "seed.json", seeds, lambda: tools.ToolSession(corpus).call)
    records = json.loads((tmp_path / "seed.json").read_text())
    assert n == len(records) == len(seeds)
    assert records[0]["steps"][-1].startswith("Step ") and "<CALL_BEGIN>Finish[" in records[0]["steps"][-1]
    assert "Result 1: " in records[0]["full_text"]
    from seer.pool import parse_library  # the pool imports the seeds as the official format

    experiences = parse_library(tmp_path / "seed.json")
    assert len(experiences) == n and all(e.judge_kind == "seed" for e in experiences)
    assert {e.intent for e in experiences} <= {"flight", "coffee", "yelp", "airbnb", "dblp", "agenda",
                                                "scirex", "gsm8k"}
    assert all(e.tool_chain[-1] == "Finish" for e in experiences)


def test_oracle_chains_replay_with_the_tools(small_build: BuildReport, tmp_path: Path) -> None:
    tools = pytest.importorskip("seer.tools")
    corpus = tools.Corpus(small_build.out / "external_corpus", tmp_path / "cache")
    failures = []
    for insts in small_build.instances.values():
        for inst in insts:
            session = tools.ToolSession(corpus)
            try:
                final = replay_chain(session.call, inst.chain)
            except tools.ToolError as exc:
                failures.append((inst.qid, inst.template, f"ToolError: {exc}"))
                continue
            if not exact_match(final, str(inst.answer)):
                failures.append((inst.qid, inst.template, final))
    assert not failures, failures[:10]
