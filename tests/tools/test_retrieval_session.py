"""Retrievers, argument validation, Finish and output cutting."""

from __future__ import annotations

from pathlib import Path

import pytest

from seer.tools import Corpus, ToolError, ToolSession
from seer.tools.retrieval import Bm25Index

from .conftest import AGENDA


def test_retrieve_agenda_returns_top_three_passages(tiny_corpus: Corpus) -> None:
    reply = ToolSession(tiny_corpus).call("RetrieveAgenda", {"query": "Stephen's Opera performance"})
    lines = reply.split("\n")
    assert lines[0] == AGENDA[0]
    assert len(lines) <= 3
    with pytest.raises(ToolError, match="no information that can be matched"):
        ToolSession(tiny_corpus).call("RetrieveAgenda", {"query": "zzzz qqqq"})


def test_bm25_index_ranks_and_limits() -> None:
    index = Bm25Index([f"passage {i} about cats" for i in range(5)] + ["dogs dogs dogs"])
    assert index.search("dogs") == ["dogs dogs dogs"]
    assert len(index.search("cats")) == 3
    assert index.search("the of and") == []


def test_retrievers_are_not_cut(tmp_path: Path) -> None:
    (tmp_path / "scirex").mkdir()
    long = "transformer " * 400
    (tmp_path / "scirex" / "Preprocessed_Scirex.jsonl").write_text(f'{{"id": "a", "content": "{long}"}}\n')
    reply = ToolSession(Corpus(tmp_path, tmp_path / "cache")).call("RetrieveScirex", {"query": "transformer"})
    assert reply == long


def test_argument_validation_names_the_field(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    with pytest.raises(ToolError, match="missing the argument 'condition'"):
        session.call("FilterDB", {})
    with pytest.raises(ToolError, match="unexpected argument 'db'"):
        session.call("LoadDB", {"target_db": "coffee", "db": "x"})
    with pytest.raises(ToolError, match="'column' of GetValue must be a string"):
        session.call("GetValue", {"column": 3})
    with pytest.raises(ToolError, match="'node2'"):
        session.call("EdgeCheck", {"graph": "AuthorNet", "node1": "a"})
    with pytest.raises(ToolError, match="Unknown tool 'Search'"):
        session.call("Search", {"query": "x"})
    with pytest.raises(ToolError, match="must be a string or number"):
        session.call("Finish", {"answer": True})


def test_finish_and_stateless_tools(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    assert session.finished is None
    assert session.call("Calculate", {"expression": "(-17)-(-7)"}) == "-10"
    assert session.call("Finish", {"answer": 33}) == "33"
    assert session.finished == "33"


def test_results_are_cut_to_2048_characters(tiny_corpus: Corpus) -> None:
    reply = ToolSession(tiny_corpus).call("PythonInterpreter", {"code": "answer = 'x' * 5000"})
    assert reply == "x" * 2048
