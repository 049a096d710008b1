"""DBLP graph tools and the restricted unpickler."""

from __future__ import annotations

import os
import pickle
import shutil
import uuid
from pathlib import Path

import pytest

from seer.tools import Corpus, ToolError, ToolSession

from .conftest import PAPERS, write_dblp

HRFORMER = PAPERS["p1"]["title"]


def _session(tiny_corpus: Corpus) -> ToolSession:
    session = ToolSession(tiny_corpus)
    reply = session.call("LoadGraph", {"graph": "dblp"})
    assert reply == "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."
    return session


def test_graph_checks_need_load_graph(tiny_corpus: Corpus) -> None:
    with pytest.raises(ToolError, match=r"LoadGraph\[dblp\]"):
        ToolSession(tiny_corpus).call("NodeCheck", {"graph": "AuthorNet", "node": "Chao Zhang"})
    with pytest.raises(ToolError, match="not in the list"):
        ToolSession(tiny_corpus).call("LoadGraph", {"graph": "wikipedia"})


def test_neighbour_check(tiny_corpus: Corpus) -> None:
    session = _session(tiny_corpus)
    reply = session.call("NeighbourCheck", {"graph": "AuthorNet", "node": "Chao Zhang"})
    assert reply == "['Weihong Lin', 'Jingdong Wang']"
    assert session.call("NeighbourCheck", {"graph": "PaperNet", "node": HRFORMER}) == str(
        [PAPERS["p2"]["title"]]
    )


def test_node_check(tiny_corpus: Corpus) -> None:
    session = _session(tiny_corpus)
    reply = session.call("NodeCheck", {"graph": "PaperNet", "node": PAPERS["p2"]["title"]})
    assert reply == str(PAPERS["p2"])
    assert session.call("NodeCheck", {"graph": "AuthorNet", "node": "Weihong Lin"}) == str(
        {"name": "Weihong Lin", "org": "Peking University"}
    )
    with pytest.raises(ToolError, match="'Nobody' does not exist in AuthorNet"):
        session.call("NodeCheck", {"graph": "AuthorNet", "node": "Nobody"})
    with pytest.raises(ToolError, match="Valid graphs: PaperNet, AuthorNet"):
        session.call("NodeCheck", {"graph": "CiteNet", "node": "x"})


def test_edge_check_maps_paper_ids_to_titles_without_mutating(tiny_corpus: Corpus) -> None:
    session = _session(tiny_corpus)
    arguments = {"graph": "AuthorNet", "node1": "Chao Zhang", "node2": "Weihong Lin"}
    expected = str({"weight": 1, "papers": [HRFORMER], "n_citation": [95]})
    assert session.call("EdgeCheck", arguments) == expected
    assert session.call("EdgeCheck", arguments) == expected  # the original broke on a second call
    with pytest.raises(ToolError, match="no edge"):
        session.call("EdgeCheck", {"graph": "AuthorNet", "node1": "Weihong Lin", "node2": "Jingdong Wang"})
    assert (
        session.call("EdgeCheck", {"graph": "PaperNet", "node1": HRFORMER, "node2": PAPERS["p2"]["title"]})
        == "{}"
    )


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused(tiny_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ec"
    shutil.copytree(tiny_root / "scirex", root / "scirex")
    write_dblp(root / "dblp")
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    with (root / "dblp" / "author_net.pkl").open("wb") as fh:
        pickle.dump({"graph": _Exploit(marker)}, fh)
    session = ToolSession(Corpus(root, tmp_path / "cache"))
    with pytest.raises(ToolError, match=r"Refused to load .*author_net.pkl.*(posix|os)\.system"):
        session.call("LoadGraph", {"graph": "dblp"})
    assert not marker.exists()


def test_missing_dblp_names_the_file(tmp_path: Path) -> None:
    session = ToolSession(Corpus(tmp_path, tmp_path / "cache"))
    with pytest.raises(ToolError, match="dblp/paper_net.pkl is missing"):
        session.call("LoadGraph", {"graph": "dblp"})
