"""The recall benchmark's data: pools grown around real ToolQA questions, and real questions as queries.

Real task texts are the ToolQA questions (``questions/{easy,hard}/<domain>-<level>.jsonl``); each gets a
plausible trajectory (the domain's tool chain, arguments taken from the question's names, numbers and
dates). The questions are split once: *bases* seed the pool, the others are never in it and serve as
queries (new tasks asking the pool, as in use), as records written at size n, and as MCP queries.

Pool rows (``real`` vectors): each row mixes the embeddings of a base question and one of its ten nearest
same-domain neighbours (a random weight), plus isotropic noise of norm ``NOISE``, then re-normalised; its
trajectory vector is made the same way from the two trajectories. Rows so lie on the manifold real
experiences occupy (templated questions, their neighbours) instead of uniformly on the sphere, which is
both more realistic and kinder to an ANN index. ``random`` vectors (`synthetic_columns`) are the old
benchmark's uniform unit vectors: the worst case for an ANN index.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seer.eval.toolqa.questions import DOMAINS, LEVELS, load_questions, question_path
from seer.pool import RecallRequest, RecordRequest, Step
from seer.pool.embedders import Embedder
from seer.pool.intent import TOOLQA_INTENTS
from seer.pool.render import render_demo, render_step, render_steps, template_key

# the shared data beside the checkout, as the README lays it out (commands run from the repository's root)
DEFAULT_QUESTIONS = Path("../shared/data/toolqa/questions")
INTENTS = tuple(TOOLQA_INTENTS)
CHAINS: dict[str, list[list[str]]] = {
    "flight": [
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
        ["LoadDB", "FilterDB", "GetValue", "GetValue", "Calculate", "Finish"],
    ],
    "coffee": [["SQLInterpreter", "Finish"], ["LoadDB", "FilterDB", "GetValue", "Calculate", "Finish"]],
    "yelp": [["LoadDB", "FilterDB", "GetValue", "Finish"], ["SQLInterpreter", "Finish"]],
    "airbnb": [
        ["LoadDB", "FilterDB", "GetValue", "Finish"],
        ["SQLInterpreter", "PythonInterpreter", "Finish"],
    ],
    "dblp": [
        ["LoadGraph", "NodeCheck", "Finish"],
        ["LoadGraph", "NeighbourCheck", "Finish"],
        ["LoadGraph", "EdgeCheck", "NodeCheck", "Finish"],
    ],
    "scirex": [["RetrieveScirex", "Finish"]],
    "agenda": [["RetrieveAgenda", "Finish"], ["RetrieveAgenda", "Calculate", "Finish"]],
    "gsm8k": [["PythonInterpreter", "Finish"], ["Calculate", "Finish"]],
}
NEIGHBOURS = 10  # a row mixes a base with one of its this many nearest same-domain bases
NOISE = 0.2  # norm of the isotropic noise added to a row's mixed vector (before re-normalising)
_NAMES = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}|[A-Z]{2}\d{1,4}|\b[A-Z]{3}\b|\d+(?:\.\d+)?|"
                    r"[A-Z][\w'-]+(?: [A-Z][\w'-]+)+")


@dataclass(frozen=True)
class Probe:
    """A real ToolQA question with its intent and a plausible successful trajectory."""

    qid: str
    intent: str
    question: str
    answer: str
    steps: tuple[Step, ...]

    @property
    def tools(self) -> list[str]:
        return [s.tool for s in self.steps]

    @property
    def history(self) -> list[Step]:
        """The calls made before the middle of the task: up to two, never the final Finish."""
        return list(self.steps[: max(1, min(2, len(self.steps) - 1))])


def _arguments(tool: str, intent: str, question: str, names: list[str], answer: str) -> dict[str, Any]:
    first = names[0] if names else question.split()[-1].strip("?")
    words = [w.strip("?,.") for w in question.split() if w.islower() and len(w) > 4]
    column = words[-1] if words else "value"
    return {
        "LoadDB": {"target_db": intent},
        "FilterDB": {"condition": ", ".join(f"Field{i}={v}" for i, v in enumerate(names or [first], 1))},
        "GetValue": {"column": column},
        "Calculate": {"expression": "-".join(n for n in names if n.replace(".", "").isdigit()) or "1+1"},
        "SQLInterpreter": {"query": f"SELECT {column} FROM {intent} WHERE name = '{first}'"},
        "PythonInterpreter": {"code": f"# {question[:80]}\nprint({len(question)} / 2)"},
        "LoadGraph": {"graph": "dblp"},
        "NodeCheck": {"graph": "AuthorNet", "node": first},
        "NeighbourCheck": {"graph": "AuthorNet", "node": first},
        "EdgeCheck": {"graph": "AuthorNet", "node1": first, "node2": names[-1] if names else first},
        "RetrieveScirex": {"query": question},
        "RetrieveAgenda": {"query": question},
        "Finish": {"answer": answer},
    }[tool]


_THOUGHTS = {
    "LoadDB": "We can use LoadDB to load the {intent} database.",
    "FilterDB": "Filter the rows for {names}.",
    "GetValue": "Read the {column} of the remaining row.",
    "Calculate": "Compute the result from the values.",
    "SQLInterpreter": "One SQL query over the {intent} table answers this.",
    "PythonInterpreter": "Write a short program for the arithmetic.",
    "LoadGraph": "Load the DBLP graphs.",
    "NodeCheck": "Check the node {names}.",
    "NeighbourCheck": "List the neighbours of {names}.",
    "EdgeCheck": "Check the edge between {names}.",
    "RetrieveScirex": "Search the papers for the reported score.",
    "RetrieveAgenda": "Search the agenda for the event.",
    "Finish": "There are no more questions left to ask; the answer is known.",
}


def trajectory(intent: str, question: str, answer: str) -> tuple[Step, ...]:
    """A plausible successful trajectory: one of the domain's chains (picked by the question's hash), its
    arguments and thoughts naming the question's entities."""
    options = CHAINS[intent]
    chain = options[int(hashlib.sha256(question.encode()).hexdigest(), 16) % len(options)]
    names = _NAMES.findall(question)[:3]
    out = []
    for tool in chain:
        args = _arguments(tool, intent, question, names, answer)
        thought = _THOUGHTS[tool].format(intent=intent, names=" and ".join(names) or "the question",
                                         column=args.get("column", "value"))
        out.append(Step(thought=thought, tool=tool, arguments=args, observation="ok"))
    return tuple(out)


def load_probes(root: Path = DEFAULT_QUESTIONS) -> list[Probe]:
    """Every ToolQA question under ``root`` (easy and hard, all domains present), with a trajectory."""
    probes = []
    for level in LEVELS:
        for domain in DOMAINS:
            if not question_path(root, domain, level).is_file():
                continue
            for q in load_questions(root, domain, level):
                probes.append(Probe(q.qid, domain, q.question, q.answer_text,
                                    trajectory(domain, q.question, q.answer_text)))
    if not probes:
        raise FileNotFoundError(f"no ToolQA question files under {root}")
    return probes


@dataclass
class Split:
    """Disjoint question sets: pool bases, and held-out questions for each measurement."""

    bases: list[Probe]
    queries: list[Probe]  # in-process recall (their texts embedded before timing)
    cold: list[Probe]  # in-process recall, texts never seen (embedding inside the timing)
    records: list[Probe]  # record_trajectory at size n
    mcp: list[Probe]  # recall over MCP (distinct, never embedded by this pool)


def split(
    probes: Sequence[Probe], *, queries: int, cold: int, records: int, mcp: int, seed: int = 0
) -> Split:
    """Shuffle once (seeded) and cut; the held-out sets shrink proportionally when there are few questions
    (the bases keep at least half)."""
    order = list(probes)
    random.Random(seed).shuffle(order)
    want = [queries, cold, records, mcp]
    room = max(0, len(order) - max(1, len(order) // 2))
    if sum(want) > room:
        want = [max(1, w * room // max(sum(want), 1)) for w in want]
    cuts = np.cumsum([0, *want])
    parts = [order[cuts[i]: cuts[i + 1]] for i in range(4)]
    return Split(order[cuts[-1]:], *parts)


def embed_cached(embedder: Embedder, texts: Sequence[str], folder: Path | None) -> np.ndarray:
    """Embed ``texts`` (batched); with ``folder``, keep the vectors in a file keyed by embedder and texts."""
    key = hashlib.sha256("\n\0".join([embedder.id, *texts]).encode()).hexdigest()[:16]
    path = folder / f"embeddings-{key}.npy" if folder is not None else None
    if path is not None and path.exists():
        return np.load(path)
    vectors = np.ascontiguousarray(embedder.embed(list(texts)), dtype=np.float32)
    if path is not None:
        np.save(path, vectors)
    return vectors


@dataclass
class Bases:
    """The pool's seed questions as arrays: vectors, intents, chains, texts and nearest neighbours."""

    probes: list[Probe]
    query: np.ndarray  # (B, d) question embeddings
    trajectory: np.ndarray  # (B, d) trajectory embeddings
    neighbours: np.ndarray = field(init=False)  # (B, NEIGHBOURS) nearest same-intent bases by question

    def __post_init__(self) -> None:
        intents = np.array([p.intent for p in self.probes])
        sim = self.query @ self.query.T
        sim[intents[:, None] != intents[None, :]] = -np.inf
        np.fill_diagonal(sim, -np.inf)
        k = min(NEIGHBOURS, max(1, len(self.probes) - 1))
        near = np.argsort(-sim, axis=1)[:, :k]
        finite = np.isfinite(np.take_along_axis(sim, near, axis=1))
        self.neighbours = np.where(finite, near, np.arange(len(self.probes))[:, None])  # alone: itself


def bases_from(probes: Sequence[Probe], embedder: Embedder, folder: Path | None = None) -> Bases:
    """Embed the bases' questions and trajectories (cached in ``folder``)."""
    plist = list(probes)
    query = embed_cached(embedder, [p.question for p in plist], folder)
    traj = embed_cached(embedder, [render_steps(p.steps) for p in plist], folder)
    return Bases(plist, query, traj)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _mix(
    rng: np.random.Generator, vectors: np.ndarray, a: np.ndarray, j: np.ndarray, jj: np.ndarray
) -> np.ndarray:
    noise = rng.standard_normal((len(j), vectors.shape[1]), dtype=np.float32)
    noise *= np.float32(NOISE) / np.linalg.norm(noise, axis=1, keepdims=True)
    return _unit(a * vectors[j] + (1 - a) * vectors[jj] + noise)


def real_columns(
    rng: np.random.Generator, start: int, n: int, bases: Bases, embedder_id: str
) -> dict[str, Any]:
    """n experiences around the bases (see the module docstring) as numpy columns for
    `ExperiencePool.bulk_insert`."""
    j = rng.integers(0, len(bases.probes), n)
    jj = bases.neighbours[j, rng.integers(0, bases.neighbours.shape[1], n)]
    a = rng.uniform(0.0, 1.0, (n, 1)).astype(np.float32)
    cols = _rows([bases.probes[i] for i in j], start, embedder_id)
    cols["query_embedding"] = _mix(rng, bases.query, a, j, jj)
    cols["trajectory_embedding"] = _mix(rng, bases.trajectory, a, j, jj)
    return cols


def _rows(probes: Sequence[Probe], start: int, embedder_id: str) -> dict[str, Any]:
    n = len(probes)
    demos: dict[str, str] = {}
    steps_json: dict[str, str] = {}
    for p in probes:
        if p.qid not in demos:
            demos[p.qid] = render_demo(p.question, p.steps)
            steps_json[p.qid] = json.dumps([s.model_dump() for s in p.steps])
    obj = np.array
    ids = obj([f"syn{start + i:08d}" for i in range(n)], dtype=object)
    tasks = obj([p.question for p in probes], dtype=object)
    demo_text = [demos[p.qid] for p in probes]
    return {
        "id": ids,
        "task": tasks,
        "intent": obj([p.intent for p in probes], dtype=object),
        "intent_source": obj(["gold"] * n, dtype=object),
        "steps": obj([steps_json[p.qid] for p in probes], dtype=object),
        "tool_chain": obj([json.dumps(p.tools) for p in probes], dtype=object),
        "template": obj([template_key(p.intent, p.tools) for p in probes], dtype=object),
        "norm_task": tasks,
        "demo_text": obj(demo_text, dtype=object),
        "tokens": np.array([len(d) // 4 for d in demo_text], np.int64),
        "judge_kind": obj(["synthetic"] * n, dtype=object),
        "judge_verdict": obj([""] * n, dtype=object),
        "model": obj([None] * n, dtype=object),
        "embedder_id": obj([embedder_id] * n, dtype=object),
        "source_task_id": ids,
        "final_answer": obj([p.answer for p in probes], dtype=object),
        "created_at": np.datetime64("2025-01-01T00:00:00", "us") + np.arange(start, start + n).astype(
            "timedelta64[s]"),
        "times_recalled": np.zeros(n, np.int64),
        "times_in_success": np.zeros(n, np.int64),
    }


def process_request(probe: Probe, k: int = 4) -> RecallRequest:
    """A stepwise recall in the middle of the task (hybrid: the steps so far against stored trajectories,
    s2 on the tools called, s3 on the intent)."""
    return RecallRequest(task=probe.question, steps_so_far=probe.history, intent=probe.intent, k=k,
                         strategy="hybrid")


def goal_request(probe: Probe, k: int = 4) -> RecallRequest:
    """The step-1 recall (hybrid: the question against stored questions, s3 on the intent)."""
    return RecallRequest(task=probe.question, intent=probe.intent, k=k, strategy="hybrid")


def query_text(request: RecallRequest) -> str:
    """The text a hybrid recall embeds: the steps so far, or the task at step 1."""
    return render_steps(request.steps_so_far) if request.steps_so_far else request.task


def record_request(probe: Probe) -> RecordRequest:
    """A successful trajectory of a held-out question, as an agent would record it."""
    return RecordRequest(task=probe.question, steps=list(probe.steps), final_answer=probe.answer,
                         success=True, judge="exact_match", intent=probe.intent, source_task_id=probe.qid)


def reference_steps(probe: Probe, tag: str = "") -> list[str]:
    """The reference library's form of a trajectory: one ``Step N: thought <CALL_BEGIN>...`` line per call;
    ``tag`` makes the text unique (the reference keys embeddings by text)."""
    lines = [render_step(s, i) for i, s in enumerate(probe.steps, 1)]
    if tag:
        lines[0] = f"{lines[0]} #{tag}"
    return lines


class PresetEmbedder:
    """An embedder that answers preset texts with preset vectors and asks ``inner`` for the rest: random
    query vectors pass through the pool's ordinary recall path this way."""

    def __init__(self, inner: Embedder, presets: dict[str, np.ndarray] | None = None) -> None:
        self.inner = inner
        self.presets: dict[str, np.ndarray] = dict(presets or {})
        self.id = inner.id
        self.dim = inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Preset vectors where known, the inner embedder's (one batch) elsewhere."""
        out = np.zeros((len(texts), self.dim), np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self.presets]
        for i, t in enumerate(texts):
            if t in self.presets:
                out[i] = self.presets[t]
        if todo:
            out[todo] = self.inner.embed([texts[i] for i in todo])
        return out
