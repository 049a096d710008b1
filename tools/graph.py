"""DBLP graph tools: LoadGraph, NeighbourCheck, NodeCheck, EdgeCheck (outputs as in ToolQA)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seer.tools.errors import ToolError
from seer.tools.safe_pickle import UnsafePickleError, safe_load

DBLP_FILES = ("paper_net", "author_net", "title2id_dict", "author2id_dict", "id2title_dict", "id2author_dict")
GRAPH_NAMES = ("PaperNet", "AuthorNet")
LOADED_MESSAGE = "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."


@dataclass(frozen=True)
class DblpData:
    """The two networkx graphs and the name <-> id dictionaries of the DBLP corpus."""

    paper_net: Any
    author_net: Any
    title2id: dict[str, Any]
    author2id: dict[str, Any]
    id2title: dict[Any, str]
    id2author: dict[Any, str]

    def resolve(self, graph: str) -> tuple[Any, dict[str, Any], dict[Any, str]]:
        """The graph called ``PaperNet`` or ``AuthorNet`` with its name -> id and id -> name maps."""
        name = graph.strip().strip("'\"").strip()
        if name.lower() == "papernet":
            return self.paper_net, self.title2id, self.id2title
        if name.lower() == "authornet":
            return self.author_net, self.author2id, self.id2author
        raise ToolError(f"The graph {name!r} does not exist. Valid graphs: PaperNet, AuthorNet.")


def load_dblp(folder: Path) -> DblpData:
    """Load the six DBLP pickles, refusing any pickle that names a non-allow-listed global."""
    loaded: dict[str, Any] = {}
    for name in DBLP_FILES:
        path = folder / f"{name}.pkl"
        try:
            loaded[name] = safe_load(path)
        except UnsafePickleError as exc:
            raise ToolError(
                f"Refused to load {path}: {exc}. The file may be malicious or corrupted."
            ) from exc
    return DblpData(
        loaded["paper_net"],
        loaded["author_net"],
        loaded["title2id_dict"],
        loaded["author2id_dict"],
        loaded["id2title_dict"],
        loaded["id2author_dict"],
    )


def _node_id(mapping: dict[str, Any], graph: str, node: str) -> Any:
    key = node.strip()
    if key in mapping:
        return mapping[key]
    raise ToolError(f"The node {key!r} does not exist in {graph.strip()}. Please modify it.")


def neighbour_check(data: DblpData, graph: str, node: str) -> str:
    """Names of the node's neighbours, as a Python list literal."""
    net, to_id, to_name = data.resolve(graph)
    node_id = _node_id(to_id, graph, node)
    return str([to_name.get(n, n) for n in net.neighbors(node_id)])


def node_check(data: DblpData, graph: str, node: str) -> str:
    """The node's attribute dictionary."""
    net, to_id, _ = data.resolve(graph)
    return str(dict(net.nodes[_node_id(to_id, graph, node)]))


def edge_check(data: DblpData, graph: str, node1: str, node2: str) -> str:
    """The edge's attribute dictionary; in AuthorNet the ``papers`` ids are shown as titles."""
    net, to_id, _ = data.resolve(graph)
    a, b = _node_id(to_id, graph, node1), _node_id(to_id, graph, node2)
    if not net.has_edge(a, b):
        raise ToolError(
            f"There is no edge between {node1.strip()!r} and {node2.strip()!r}. Please modify it."
        )
    edge = copy.deepcopy(dict(net.edges[a, b]))  # the original rewrote the shared graph in place
    if net is data.author_net and isinstance(edge.get("papers"), list):
        edge["papers"] = [data.id2title.get(p, p) for p in edge["papers"]]
    return str(edge)
