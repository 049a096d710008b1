"""DBLP: ``dblp/{paper_net,author_net}.pkl`` networkx graphs + 4 id/name dict pickles, and templates.

PaperNet is a citation DiGraph (edge paper -> cited paper); node attributes follow the DBLP
citation dump (title, authors [{name, org, id}], year, venue {raw}, keywords, n_citation,
page_start, page_end, doc_type, publisher, volume, issue, doi). AuthorNet is the co-author
Graph (nodes: name, org; edges: weight, papers [paper ids]). Synthetic choice: ``n_citation``
equals the in-graph citation count, so citation questions are answerable with NodeCheck.
"""

from __future__ import annotations

import pickle
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from ..templates import Answer, Call, Template, finish

FIRST = (
    "Wei",
    "Li",
    "Anna",
    "Marco",
    "Priya",
    "Kenji",
    "Sofia",
    "Omar",
    "Elena",
    "Jonas",
    "Mei",
    "Ravi",
    "Lucas",
    "Hana",
    "Ivan",
    "Chloe",
    "Tariq",
    "Nadia",
    "Pablo",
    "Yuki",
    "Sara",
    "Felix",
    "Amir",
    "Ines",
    "Bruno",
    "Dana",
)
LAST = (
    "Zhang",
    "Kumar",
    "Rossi",
    "Müller",
    "Tanaka",
    "Silva",
    "Haddad",
    "Novak",
    "Kim",
    "Nguyen",
    "Garcia",
    "Petrov",
    "Okafor",
    "Larsen",
    "Chen",
    "Dubois",
    "Sato",
    "Fischer",
    "Ali",
    "Moreau",
    "Costa",
    "Yilmaz",
)
ORGS = (
    "Tsinghua University",
    "ETH Zurich",
    "University of Toronto",
    "MIT CSAIL",
    "Google Research",
    "DeepMind",
    "KAIST",
    "University of Tokyo",
    "Inria",
    "TU Munich",
    "IIT Delhi",
    "University of Dayton",
    "Peking University",
    "University of Florida",
    "Xidian University",
    "National University of Singapore",
)
TOPICS = (
    "Graph Neural Networks",
    "Federated Learning",
    "Point Cloud Compression",
    "Robot Navigation",
    "Anomaly Detection",
    "Speech Recognition",
    "Image Segmentation",
    "Knowledge Graphs",
    "Edge Computing",
    "Reinforcement Learning",
    "Recommender Systems",
    "Medical Imaging",
    "Time Series Forecasting",
    "Program Synthesis",
    "Quantum Circuits",
    "Wireless Sensing",
)
FORMS = (
    "Towards {a} for {b}",
    "{a} Meets {b}",
    "Efficient {a} in {b}",
    "A Study of {a} and {b}",
    "Learning {a} with {b}",
    "Scalable {a} for {b} Systems",
    "Robust {a} under {b}",
)
VENUES = (
    "IEEE Transactions on Neural Networks and Learning Systems",
    "Annual Conference on Neural Information Processing Systems",
    "IEEE Communications Letters",
    "COMPUTER COMMUNICATIONS",
    "IGARSS",
    "IEEE ROBOTICS AND AUTOMATION LETTERS",
    "PLOS COMPUTATIONAL BIOLOGY",
    "AAAI",
)
KEYWORDS = (
    "deep learning",
    "optimization",
    "privacy",
    "benchmark",
    "transformer",
    "graph",
    "sensors",
    "robustness",
    "compression",
    "clustering",
    "control",
    "security",
)


@dataclass
class DblpData:
    paper_net: nx.DiGraph
    author_net: nx.Graph
    title2id: dict[str, str]
    author2id: dict[str, str]
    id2title: dict[str, str]
    id2author: dict[str, str]


def generate(out_dir: Path, rng: random.Random, scale: str) -> DblpData:
    n_authors, n_papers = (320, 420) if scale == "small" else (3000, 4000)

    def hexid() -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(24))

    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n_authors:
        nm = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if nm in seen:
            nm = f"{nm.split()[0]} {rng.choice('ABCDEFGHJKLMNPRST')}. {nm.split()[1]}"
        if nm not in seen:
            seen.add(nm)
            names.append(nm)
    authors = [(hexid(), nm, rng.choice(ORGS)) for nm in names]
    # authors cluster into research groups so co-author neighbourhoods stay small
    groups = [authors[i : i + 8] for i in range(0, n_authors, 8)]
    titles: set[str] = set()
    paper_net: nx.DiGraph = nx.DiGraph()
    author_net: nx.Graph = nx.Graph()
    for aid, nm, org in authors:
        author_net.add_node(aid, name=nm, org=org)
    papers: list[str] = []
    while len(papers) < n_papers:
        a, b = rng.sample(TOPICS, 2)
        title = rng.choice(FORMS).format(a=a, b=b)
        if title in titles:
            title = f"{title} {rng.choice(['Revisited', 'at Scale', 'in Practice', 'via Contrastive Pretraining', 'for Low-Resource Settings'])}"  # noqa: E501
        if title in titles:
            continue
        titles.add(title)
        pid = hexid()
        group = rng.choice(groups)
        team = rng.sample(group, rng.randint(1, min(4, len(group))))
        if rng.random() < 0.1:  # occasional cross-group collaboration
            team.append(rng.choice(authors))
        team = list(dict.fromkeys(team))
        start = rng.randint(1, 900)
        paper_net.add_node(
            pid,
            title=title,
            authors=[{"name": nm, "org": org, "id": aid} for aid, nm, org in team],
            year=rng.randint(2020, 2022),
            venue={"raw": rng.choice(VENUES)},
            keywords=rng.sample(KEYWORDS, rng.randint(1, 3)),
            n_citation=0,
            page_start=str(start),
            page_end=str(start + rng.randint(3, 20)),
            doc_type="Journal",
            publisher="IEEE",
            volume=str(rng.randint(1, 40)),
            issue=str(rng.randint(1, 12)),
            doi=f"10.1109/{rng.randint(1000, 9999)}.{rng.randint(100000, 999999)}",
        )
        for i, x in enumerate(team):
            for y in team[i + 1 :]:
                if author_net.has_edge(x[0], y[0]):
                    author_net[x[0]][y[0]]["papers"].append(pid)
                    author_net[x[0]][y[0]]["weight"] += 1
                else:
                    author_net.add_edge(x[0], y[0], weight=1, papers=[pid])
        papers.append(pid)
    for i, pid in enumerate(papers):  # cite earlier papers
        if i:
            for cited in rng.sample(papers[:i], min(i, rng.randint(0, 6))):
                paper_net.add_edge(pid, cited)
    for pid in papers:
        paper_net.nodes[pid]["n_citation"] = paper_net.in_degree(pid)
    data = DblpData(
        paper_net,
        author_net,
        {paper_net.nodes[p]["title"]: p for p in papers},
        {nm: aid for aid, nm, _ in authors},
        {p: paper_net.nodes[p]["title"] for p in papers},
        {aid: nm for aid, nm, _ in authors},
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for fname, obj in (
        ("paper_net.pkl", paper_net),
        ("author_net.pkl", author_net),
        ("title2id_dict.pkl", data.title2id),
        ("author2id_dict.pkl", data.author2id),
        ("id2title_dict.pkl", data.id2title),
        ("id2author_dict.pkl", data.id2author),
    ):
        with (out_dir / fname).open("wb") as fh:
            pickle.dump(obj, fh, protocol=4)
    return data


# ---------------------------------------------------------------- helpers

LOAD: Call = ("LoadGraph", {"graph": "dblp"})


def _node(graph: str, node: str) -> Call:
    return ("NodeCheck", {"graph": graph, "node": node})


def _nbr(graph: str, node: str) -> Call:
    return ("NeighbourCheck", {"graph": graph, "node": node})


def _edge(a: str, b: str) -> Call:
    return ("EdgeCheck", {"graph": "AuthorNet", "node1": a, "node2": b})


def _s_paper(d: DblpData, rng: random.Random) -> dict[str, Any]:
    return {"title": d.id2title[rng.choice(list(d.id2title))]}


def _s_author(max_degree: int = 6) -> Any:
    def sample(d: DblpData, rng: random.Random) -> dict[str, Any] | None:
        aid = rng.choice(list(d.id2author))
        deg = d.author_net.degree(aid)
        return None if deg == 0 or deg > max_degree else {"author": d.id2author[aid]}

    return sample


def _s_pair(d: DblpData, rng: random.Random) -> dict[str, Any] | None:
    aid = rng.choice(list(d.id2author))
    nbrs = list(d.author_net.neighbors(aid))
    if not nbrs or len(nbrs) > 6:
        return None
    return {"a": d.id2author[aid], "b": d.id2author[rng.choice(nbrs)]}


def _aid(d: DblpData, name: str) -> str:
    return d.author2id[name]


def _pid(d: DblpData, title: str) -> str:
    return d.title2id[title]


def _edge_papers(d: DblpData, a: str) -> list[tuple[str, list[str]]]:
    aid = _aid(d, a)
    return [(nb, d.author_net[aid][nb]["papers"]) for nb in d.author_net.neighbors(aid)]


def _author_walk(d: DblpData, p: dict[str, Any], with_papers: bool = False) -> list[Call]:
    calls: list[Call] = [LOAD, _nbr("AuthorNet", p["author"])]
    titles: list[str] = []
    for nb, papers in _edge_papers(d, p["author"]):
        calls.append(_edge(p["author"], d.id2author[nb]))
        titles += [d.id2title[x] for x in papers]
    if with_papers:
        calls += [_node("PaperNet", t) for t in dict.fromkeys(titles)]
    return calls


def _walk_chain(with_papers: bool = False) -> Any:
    return lambda d, p, ans: [*_author_walk(d, p, with_papers), finish(ans)]


# ---------------------------------------------------------------- easy templates


def _pages(d: DblpData, p: dict[str, Any]) -> int | None:
    n = d.paper_net.nodes[_pid(d, p["title"])]
    if n["page_end"] == "" or n["page_start"] == "":
        return None
    return int(float(n["page_end"])) - int(float(n["page_start"])) + 1


def _pages_chain(d: DblpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    n = d.paper_net.nodes[_pid(d, p["title"])]
    return [
        LOAD,
        _node("PaperNet", p["title"]),
        ("Calculate", {"expression": f"{n['page_end']} - {n['page_start']} + 1"}),
        finish(ans),
    ]


def _nonzero(v: int) -> int | None:
    return v or None  # ToolQA quirk: the notebooks resample while the answer is 0


def _venue_pair(d: DblpData, p: dict[str, Any]) -> str | None:
    venues = [
        d.paper_net.nodes[x]["venue"]["raw"] for x in d.author_net[_aid(d, p["a"])][_aid(d, p["b"])]["papers"]
    ]
    counts = Counter(venues).most_common()
    return (
        counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None
    )  # max(set) ties: resample


def _venue_pair_chain(d: DblpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    papers = d.author_net[_aid(d, p["a"])][_aid(d, p["b"])]["papers"]
    return [LOAD, _edge(p["a"], p["b"]), *[_node("PaperNet", d.id2title[x]) for x in papers], finish(ans)]


def _e(name: str, pattern: str, sample: Any, answer: Any, chain: Any) -> Template:
    return Template("dblp", "easy", name, pattern, sample, answer, chain)


EASY = [
    _e(
        "authors",
        "Who are the authors of {title}?",
        _s_paper,
        lambda d, p: ", ".join(a["name"] for a in d.paper_net.nodes[_pid(d, p["title"])]["authors"]),
        lambda d, p, ans: [LOAD, _node("PaperNet", p["title"]), finish(ans)],
    ),
    _e(
        "organization",
        "What organization is {author} from?",
        _s_author(10**6),
        lambda d, p: d.author_net.nodes[_aid(d, p["author"])]["org"] or None,
        lambda d, p, ans: [LOAD, _node("AuthorNet", p["author"]), finish(ans)],
    ),
    _e("pages", "How many pages is {title}?", _s_paper, _pages, _pages_chain),
    _e(
        "references",
        "How many papers did {title} cite?",
        _s_paper,
        lambda d, p: _nonzero(d.paper_net.out_degree(_pid(d, p["title"]))),
        lambda d, p, ans: [LOAD, _nbr("PaperNet", p["title"]), finish(ans)],
    ),
    _e(
        "citations",
        "How many papers in the DBLP citation network cited {title}?",
        _s_paper,
        lambda d, p: _nonzero(d.paper_net.in_degree(_pid(d, p["title"]))),
        lambda d, p, ans: [LOAD, _node("PaperNet", p["title"]), finish(ans)],
    ),
    _e(
        "collaborators",
        "How many collaborators does {author} have in the DBLP citation network?",
        _s_author(),
        lambda d, p: _nonzero(d.author_net.degree(_aid(d, p["author"]))),
        lambda d, p, ans: [LOAD, _nbr("AuthorNet", p["author"]), finish(ans)],
    ),
    # ToolQA quirk: "papers written together" counts the two authors' common co-authors.
    _e(
        "papers_together",
        "How many papers did {a} and {b} write together in the DBLP citation network?",
        _s_pair,
        lambda d, p: _nonzero(
            len(set(d.author_net.neighbors(_aid(d, p["a"]))) & set(d.author_net.neighbors(_aid(d, p["b"]))))
        ),
        lambda d, p, ans: [LOAD, _nbr("AuthorNet", p["a"]), _nbr("AuthorNet", p["b"]), finish(ans)],
    ),
    # ToolQA quirk: titles are listed once per co-author edge, so papers repeat.
    _e(
        "paper_titles",
        "What papers did {author} write in the DBLP citation network?",
        _s_author(4),
        lambda d, p: ", ".join(d.id2title[x] for _, ps in _edge_papers(d, p["author"]) for x in ps) or None,
        _walk_chain(),
    ),
    # ToolQA quirk: the count sums papers over co-author edges (a paper counts once per co-author).
    _e(
        "paper_count",
        "How many papers did {author} write in the DBLP citation network?",
        _s_author(5),
        lambda d, p: _nonzero(sum(len(ps) for _, ps in _edge_papers(d, p["author"]))),
        _walk_chain(),
    ),
    _e(
        "common_venue",
        "What venue did {a} and {b} collaborate most in the DBLP citation network?",
        _s_pair,
        _venue_pair,
        _venue_pair_chain,
    ),
]


# ---------------------------------------------------------------- hard templates


def _most_cited_paper(d: DblpData, p: dict[str, Any]) -> str | None:
    best, ans, cites = 0, None, []
    for _, papers in _edge_papers(d, p["author"]):
        for x in papers:
            c = d.paper_net.nodes[x]["n_citation"]
            cites.append((x, c))
            if c > best:
                best, ans = c, d.paper_net.nodes[x]["title"]
    return ans if ans and len({x for x, c in cites if c == best}) == 1 else None


def _most_cited_collab(d: DblpData, p: dict[str, Any]) -> str | None:
    best, ans, totals = 0, None, []
    for nb, papers in _edge_papers(d, p["author"]):
        c = sum(d.paper_net.nodes[x]["n_citation"] for x in papers)
        totals.append(c)
        if c > best:
            best, ans = c, d.id2author[nb]
    return ans if ans and totals.count(best) == 1 else None


def _venue_quirk(d: DblpData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: reproduces the notebook loop — a neighbour with more papers resets the list to the
    # venue of its *last* paper; otherwise that last paper's venue is appended; joined with ",".
    max_paper, answer = 0, []
    for _, papers in _edge_papers(d, p["author"]):
        last_venue = d.paper_net.nodes[papers[-1]]["venue"]["raw"]
        if len(papers) > max_paper:
            max_paper, answer = len(papers), [last_venue]
        else:
            answer.append(last_venue)
    return ",".join(answer) or None


def _citations_pair(d: DblpData, p: dict[str, Any]) -> str:
    return str(
        sum(
            d.paper_net.nodes[x]["n_citation"]
            for x in d.author_net[_aid(d, p["a"])][_aid(d, p["b"])]["papers"]
        )
    )


def _two_hop(d: DblpData, aid: str) -> set[str]:
    nodes = {aid}
    for nb in d.author_net.neighbors(aid):
        nodes.add(nb)
        nodes.update(d.author_net.neighbors(nb))
    return nodes


def _s_two_hop(d: DblpData, rng: random.Random) -> dict[str, Any] | None:
    p = _s_author(4)(d, rng)
    return None if p is None or len(_two_hop(d, _aid(d, p["author"]))) > 14 else p


def _ego_edges(d: DblpData, p: dict[str, Any]) -> int:
    return int(d.author_net.subgraph(_two_hop(d, _aid(d, p["author"]))).number_of_edges())


def _ego_chain(d: DblpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    aid = _aid(d, p["author"])
    nodes = _two_hop(d, aid)
    order = [
        aid,
        *[n for n in d.author_net.neighbors(aid)],
        *sorted(nodes - {aid, *d.author_net.neighbors(aid)}),
    ]
    adj = {d.id2author[n]: sorted(d.id2author[m] for m in d.author_net.neighbors(n)) for n in order}
    code = (
        f"adj = {adj!r}\nnodes = set(adj)\n"
        "answer = len({frozenset((a, b)) for a in adj for b in adj[a] if b in nodes})"
    )
    return [
        LOAD,
        *[_nbr("AuthorNet", d.id2author[n]) for n in order],
        ("PythonInterpreter", {"code": code}),
        finish(ans),
    ]


def _strongest(d: DblpData, p: dict[str, Any]) -> str | None:
    aid = _aid(d, p["author"])
    best, names = 0, []
    for nb in d.author_net.neighbors(aid):
        w = d.author_net[aid][nb]["weight"]
        if w > best:
            best, names = w, [d.id2author[nb]]
        elif w == best:
            names.append(d.id2author[nb])
    return ", ".join(names) or None


def _institutions(d: DblpData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: the notebook joins a Python set (arbitrary order); we keep first-occurrence order.
    orgs = [a["org"] for a in d.paper_net.nodes[_pid(d, p["title"])]["authors"]]
    return "; ".join(dict.fromkeys(orgs)) or None


def _keywords(d: DblpData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: all keywords of all co-authored papers (set, here in first-occurrence order).
    kws = [
        k
        for _, papers in _edge_papers(d, p["author"])
        for x in papers
        for k in d.paper_net.nodes[x]["keywords"]
    ]
    return ", ".join(dict.fromkeys(kws)) or None


def _h(name: str, pattern: str, sample: Any, answer: Any, chain: Any) -> Template:
    return Template("dblp", "hard", name, pattern, sample, answer, chain)


HARD = [
    # ToolQA quirk: author2 is always a co-author of author1, so the distance is always 1.
    _h(
        "distance",
        "How many people does {a} need to know at least to know {b} in the DBLP citation network?",
        _s_pair,
        lambda d, p: str(nx.shortest_path_length(d.author_net, _aid(d, p["a"]), _aid(d, p["b"]))),
        lambda d, p, ans: [LOAD, _nbr("AuthorNet", p["a"]), finish(ans)],
    ),
    _h(
        "common_collaborators",
        "How many common collaborators does {a} have with {b}?",
        _s_pair,
        lambda d, p: str(len(list(nx.common_neighbors(d.author_net, _aid(d, p["a"]), _aid(d, p["b"]))))),
        lambda d, p, ans: [LOAD, _nbr("AuthorNet", p["a"]), _nbr("AuthorNet", p["b"]), finish(ans)],
    ),
    _h(
        "most_cited_paper",
        "Which is the most cited paper written by {author} in the DBLP citation network?",
        _s_author(4),
        _most_cited_paper,
        _walk_chain(with_papers=True),
    ),
    _h(
        "most_cited_collaborator",
        "Which collaborator does {author} have the most citations with in the DBLP citation network?",
        _s_author(4),
        _most_cited_collab,
        _walk_chain(with_papers=True),
    ),
    _h(
        "venue_most",
        "Which venue does {author} publish the most papers in the DBLP citation network?",
        _s_author(4),
        _venue_quirk,
        _walk_chain(with_papers=True),
    ),
    _h(
        "pair_citations",
        "How many accumulated citations do papers collaborated by {a} and {b} have in the DBLP citation network?",  # noqa: E501
        _s_pair,
        _citations_pair,
        lambda d, p, ans: [
            LOAD,
            _edge(p["a"], p["b"]),
            *[
                _node("PaperNet", d.id2title[x])
                for x in d.author_net[_aid(d, p["a"])][_aid(d, p["b"])]["papers"]
            ],
            finish(ans),
        ],
    ),
    # ToolQA quirk: "papers in all" counts the edges of the 2-hop co-author ego graph.
    _h(
        "ego_edges",
        "How many papers in all do {author} and his/her collaborators have in the DBLP citation network?",
        _s_two_hop,
        _ego_edges,
        _ego_chain,
    ),
    _h(
        "strongest_collaborator",
        "Who collaborated with {author} most in the DBLP citation network?",
        _s_author(5),
        _strongest,
        _walk_chain(),
    ),
    _h(
        "institutions",
        "What institutions participated in the study of {title} in the DBLP citation network?",
        _s_paper,
        _institutions,
        lambda d, p, ans: [LOAD, _node("PaperNet", p["title"]), finish(ans)],
    ),
    _h(
        "keywords",
        "What keywords does {author} focus on most in the DBLP citation network?",
        _s_author(4),
        _keywords,
        _walk_chain(with_papers=True),
    ),
]
