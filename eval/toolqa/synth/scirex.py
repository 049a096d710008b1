"""SciREX: ``scirex/Preprocessed_Scirex.jsonl`` ({"id","content"} per paper section) and its templates.

Synthetic papers report (Task, Material, Method, Metric, score) relations in a results section;
with a real SciREX folder the files are copied and the answerable official easy questions
(SUBSET.json) are reused when an official question file is found.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..templates import Answer, Call, Template, finish
from ._common import write_jsonl

TASKS = {  # task: (datasets, metrics)
    "Semantic_Segmentation": (("Cityscapes", "CamVid", "PASCAL_VOC_2012"), ("Mean_IoU", "Pixel_Accuracy")),
    "Image_Classification": (("CIFAR-10", "ImageNet", "SVHN"), ("Accuracy", "Top_5_Accuracy")),
    "Language_Modelling": (
        ("Penn_Treebank__Word_Level_", "WikiText-2"),
        ("Test_perplexity", "Validation_perplexity"),
    ),
    "Link_Prediction": (("WN18", "FB15k-237"), ("MRR", "Hits_1")),
    "Named_Entity_Recognition__NER_": (("CoNLL_2003", "JNLPBA"), ("F1", "Precision")),
    "Object_Detection": (("PASCAL_VOC_2007", "COCO"), ("MAP", "AP_0_5")),
    "Natural_Language_Inference": (("SNLI", "MultiNLI"), ("Accuracy", "Matched")),
}
METHOD_PARTS = (
    "Res",
    "Dense",
    "Deep",
    "Graph",
    "Sparse",
    "Dual",
    "Meta",
    "Capsule",
    "Pyramid",
    "Hyper",
    "Neural",
    "Adaptive",
    "Gated",
    "Fast",
    "Cascade",
)
METHOD_TAILS = ("Net", "Former", "LSTM", "GAN", "Flow", "Mixer", "CRF", "Seg", "BERT", "Match")
FILLER = (
    "We build on a long line of prior work and analyse its limitations in detail .",
    "Our experiments use the standard training protocol and report the mean of three runs .",
    "The architecture combines local and global context through a learned gating mechanism .",
    "Ablation studies show that every component contributes to the final performance .",
)


@dataclass
class ScirexData:
    relations: list[dict[str, Any]] = field(default_factory=list)  # Task, Material, Method, Metric, score
    sections: list[dict[str, str]] = field(default_factory=list)
    real: bool = False
    official: list[dict[str, Any]] = field(default_factory=list)  # reused official questions (real corpus)

    def select(self, **kw: Any) -> list[dict[str, Any]]:
        return [r for r in self.relations if all(r[k] == v for k, v in kw.items())]


def _find_official(start: Path) -> Path | None:
    for base in [start, *start.parents][:5]:
        for cand in (
            base / "questions" / "easy" / "scirex-easy.jsonl",
            base / "toolqa" / "questions" / "easy" / "scirex-easy.jsonl",
        ):
            if cand.is_file():
                return cand
    return None


def generate(out_dir: Path, rng: random.Random, scale: str, real_dir: Path | None) -> ScirexData:
    out_dir.mkdir(parents=True, exist_ok=True)
    if real_dir is not None:
        for f in real_dir.iterdir():
            if f.is_file():
                shutil.copyfile(f, out_dir / f.name)
        data = ScirexData(real=True)
        subset = real_dir / "SUBSET.json"
        official = _find_official(real_dir.resolve())
        if subset.is_file() and official is not None:
            keep = set(json.loads(subset.read_text())["answerable_easy_qids"])
            data.official = [
                r for r in map(json.loads, official.read_text().splitlines()) if r["qid"] in keep
            ]
        return data
    n_papers = 60 if scale == "small" else 300
    data = ScirexData()
    used: set[str] = set()
    sid = 0
    for _ in range(n_papers):
        task = rng.choice(sorted(TASKS))
        datasets, metrics = TASKS[task]
        while True:
            method = f"{rng.choice(METHOD_PARTS)}{rng.choice(METHOD_TAILS)}_{rng.randint(2, 99)}"
            if method not in used:
                used.add(method)
                break
        evals = rng.sample(datasets, rng.randint(1, len(datasets)))
        lines = []
        for ds in evals:
            for metric in rng.sample(metrics, rng.randint(1, len(metrics))):
                score = round(rng.uniform(20, 99), 2)
                data.relations.append(
                    {"Task": task, "Material": ds, "Method": method, "Metric": metric, "score": score}
                )
                lines.append(
                    f"On the {ds} dataset for the {task} task , {method} achieves a {metric} score of {score} ."  # noqa: E501
                )
        title = f"{method} : {task.replace('_', ' ')} with {rng.choice(METHOD_PARTS).lower()} representations"
        body = [
            title,
            "section : Abstract We propose "
            + method
            + " for "
            + task
            + " . "
            + " ".join(rng.sample(FILLER, 2)),
            f"section : Results of {method} on {task} . " + " ".join(lines),
            "section : Conclusion " + " ".join(rng.sample(FILLER, 2)),
        ]
        for content in body:
            data.sections.append({"id": f"scirex-{sid:04d}", "content": content})
            sid += 1
    write_jsonl(out_dir / "Preprocessed_Scirex.jsonl", data.sections)
    return data


def _q(p: dict[str, Any]) -> str:
    return " ".join(str(p[k]) for k in ("Method", "Material", "Metric", "Task") if k in p)


def _s_rel(d: ScirexData, rng: random.Random) -> dict[str, Any] | None:
    return dict(rng.choice(d.relations)) if d.relations else None


def _easy_answer(d: ScirexData, p: dict[str, Any]) -> str | None:
    rows = d.select(Task=p["Task"], Material=p["Material"], Method=p["Method"], Metric=p["Metric"])
    return str(rows[0]["score"]) if len(rows) == 1 else None


def _one_query(d: ScirexData, p: dict[str, Any], ans: Answer) -> list[Call]:
    return [("RetrieveScirex", {"query": _q(p)}), finish(ans)]


EASY = [
    Template(
        "scirex",
        "easy",
        "score",
        "What is the corresponding {Metric} score of the {Method} method on {Material} dataset for {Task} task?",  # noqa: E501
        _s_rel,
        _easy_answer,
        _one_query,
    )
]


def _best_dataset(d: ScirexData, p: dict[str, Any]) -> str | None:
    rows = d.select(Method=p["Method"], Metric=p["Metric"], Task=p["Task"])
    if len(rows) < 2:
        return None  # ToolQA: only asked when more than one dataset qualifies
    best = max(r["score"] for r in rows)
    win = [r for r in rows if r["score"] == best]
    return win[0]["Material"] if len(win) == 1 else None


def _best_method(d: ScirexData, p: dict[str, Any]) -> str | None:
    rows = d.select(Material=p["Material"], Metric=p["Metric"], Task=p["Task"])
    if not 2 <= len(rows) <= 6:
        return None  # one retrieval per competitor keeps the chain short
    best = max(r["score"] for r in rows)
    win = [r for r in rows if r["score"] == best]
    return win[0]["Method"] if len(win) == 1 else None


def _best_method_chain(d: ScirexData, p: dict[str, Any], ans: Answer) -> list[Call]:
    rows = d.select(Material=p["Material"], Metric=p["Metric"], Task=p["Task"])
    return [*[("RetrieveScirex", {"query": _q(r)}) for r in rows], finish(ans)]


HARD = [
    Template(
        "scirex",
        "hard",
        "best_dataset",
        "On which dataset does the {Method} method achieve the highest {Metric} score for {Task} task?",
        _s_rel,
        _best_dataset,
        _one_query,
    ),
    Template(
        "scirex",
        "hard",
        "best_method",
        "Which method achieves the highest {Metric} score on {Material} dataset for {Task} task?",
        _s_rel,
        _best_method,
        _best_method_chain,
    ),
    Template(
        "scirex",
        "hard",
        "metrics",
        "On what metrics is the {Method} method evaluated on {Material} dataset for {Task} task?",
        _s_rel,
        lambda d, p: ", ".join(
            dict.fromkeys(
                r["Metric"] for r in d.select(Material=p["Material"], Method=p["Method"], Task=p["Task"])
            )
        ),
        _one_query,
    ),
    Template(
        "scirex",
        "hard",
        "datasets",
        "Which datasets is {Method} method evaluated on for {Task} task?",
        _s_rel,
        lambda d, p: ", ".join(
            dict.fromkeys(r["Material"] for r in d.select(Method=p["Method"], Task=p["Task"]))
        ),
        _one_query,
    ),
]
