"""ToolQA-synthetic corpora: all 8 domains in the official external-corpus layout, with questions.

``build_corpus(out, seed, scale, coffee_csv, scirex_dir)`` writes ``out/external_corpus/<domain>/...``
and ``out/questions/{easy,hard}/<domain>-<level>.jsonl`` whose answers are computed exactly from the
generated data by the ToolQA templates (see ``seer.eval.toolqa.templates``).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..questions import write_questions
from ..templates import Instance, Template, finish, instantiate
from . import agenda, airbnb, coffee, dblp, flights, gsm8k, scirex, yelp

Scale = Literal["small", "full"]
DOMAINS = ("flight", "coffee", "yelp", "airbnb", "dblp", "agenda", "scirex", "gsm8k")
CORPUS_DIR = {
    "flight": "flights",
    "coffee": "coffee",
    "yelp": "yelp",
    "airbnb": "airbnb",
    "dblp": "dblp",
    "agenda": "agenda",
    "scirex": "scirex",
    "gsm8k": "gsm8k",
}

TEMPLATES: dict[str, dict[str, list[Template]]] = {
    "flight": {"easy": flights.EASY, "hard": flights.HARD},
    "coffee": {"easy": coffee.EASY, "hard": coffee.HARD},
    "yelp": {"easy": yelp.EASY, "hard": yelp.HARD},
    "airbnb": {"easy": airbnb.EASY, "hard": airbnb.HARD},
    "dblp": {"easy": dblp.EASY, "hard": dblp.HARD},
    "agenda": {"easy": agenda.EASY, "hard": agenda.HARD},
    "scirex": {"easy": scirex.EASY, "hard": scirex.HARD},
    "gsm8k": {"easy": gsm8k.EASY, "hard": []},
}
# questions per template, as in the official files (100 per file; coffee-hard 130)
COUNTS: dict[tuple[str, str], tuple[int, ...] | int] = {
    ("coffee", "easy"): coffee.EASY_COUNTS,
    ("coffee", "hard"): coffee.HARD_COUNTS,
    ("yelp", "easy"): yelp.EASY_COUNTS,
    ("agenda", "easy"): 20,
    ("agenda", "hard"): 20,
    ("scirex", "easy"): 100,
    ("scirex", "hard"): 25,
}


@dataclass
class DomainReport:
    domain: str
    rows: int
    files: list[str]
    questions: dict[str, int]
    templates: dict[str, int]
    seconds: float
    note: str = ""


@dataclass
class BuildReport:
    """What ``build_corpus`` wrote: per-domain rows, files, question and template counts, timing."""

    out: Path
    seed: int
    scale: str
    domains: list[DomainReport] = field(default_factory=list)
    seconds: float = 0.0
    instances: dict[tuple[str, str], list[Instance]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def total_questions(self) -> int:
        return sum(sum(d.questions.values()) for d in self.domains)


def domain_rng(seed: int, domain: str, purpose: str = "data") -> random.Random:
    """Independent, reproducible RNG per (seed, domain, purpose) — stable across Python runs."""
    return random.Random(zlib.crc32(f"{seed}:{domain}:{purpose}".encode()))


def _generate(
    domain: str, path: Path, rng: random.Random, scale: str, coffee_csv: Path | None, scirex_dir: Path | None
) -> tuple[Any, int]:
    if domain == "flight":
        d: Any = flights.generate(path, rng, scale)
        return d, len(d.rows)
    if domain == "coffee":
        d = coffee.generate(path, rng, scale, coffee_csv)
        return d, len(d.rows)
    if domain == "yelp":
        d = yelp.generate(path, rng, scale)
        return d, len(d.rows)
    if domain == "airbnb":
        d = airbnb.generate(path, rng, scale)
        return d, len(d.rows)
    if domain == "dblp":
        d = dblp.generate(path, rng, scale)
        return d, d.paper_net.number_of_nodes() + d.author_net.number_of_nodes()
    if domain == "agenda":
        d = agenda.generate(path, rng, scale)
        return d, len(d.events)
    if domain == "scirex":
        d = scirex.generate(path, rng, scale, scirex_dir)
        return d, len(d.sections) if not d.real else sum(
            1 for _ in (path / "Preprocessed_Scirex.jsonl").open()
        )
    return None, 0


def _qid_prefix(domain: str, level: str) -> str:
    return f"{level}-{domain}"


def make_questions(
    domain: str, level: str, data: Any, rng: random.Random, counts: tuple[int, ...] | int | None = None
) -> list[Instance]:
    """Instantiate every template of one domain/level on ``data``."""
    tpls = TEMPLATES[domain][level]
    if not tpls:
        return []
    if domain == "scirex" and getattr(data, "real", False):
        return _official_scirex(data) if level == "easy" else []
    if counts is None:
        counts = COUNTS.get((domain, level), 10)
    return instantiate(tpls, data, rng, counts, _qid_prefix(domain, level))


def _official_scirex(data: Any) -> list[Instance]:
    tpl = scirex.EASY[0]
    out = []
    for rec in data.official:
        p = tpl.parse(rec["question"]) or {}
        chain = [
            ("RetrieveScirex", {"query": " ".join(p.values()) or rec["question"]}),
            finish(rec["answer"]),
        ]
        out.append(
            Instance(rec["qid"], rec["question"], rec["answer"], chain, tpl.name, "scirex", "easy", dict(p))
        )
    return out


def build_corpus(
    out: Path,
    seed: int,
    scale: Scale = "small",
    coffee_csv: Path | None = None,
    scirex_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write all 8 domains (official layout) and their easy/hard question files under ``out``."""
    out = Path(out)
    t0 = time.perf_counter()
    report = BuildReport(out, seed, scale)
    for domain in DOMAINS:
        if progress:
            progress(domain)
        t1 = time.perf_counter()
        path = out / "external_corpus" / CORPUS_DIR[domain]
        data, rows = _generate(domain, path, domain_rng(seed, domain), scale, coffee_csv, scirex_dir)
        report.data[domain] = data
        qcounts: dict[str, int] = {}
        tcounts: dict[str, int] = {}
        for level in ("easy", "hard"):
            insts = make_questions(domain, level, data, domain_rng(seed, domain, level))
            tcounts[level] = len(TEMPLATES[domain][level])
            if not insts:
                continue
            report.instances[(domain, level)] = insts
            write_questions(
                out / "questions" / level / f"{domain}-{level}.jsonl", [i.record() for i in insts]
            )
            qcounts[level] = len(insts)
        files = (
            sorted(str(p.relative_to(out)) for p in path.rglob("*") if p.is_file()) if path.exists() else []
        )
        note = (
            "real corpus"
            if (domain == "coffee" and coffee_csv) or (domain == "scirex" and scirex_dir)
            else ""
        )
        report.domains.append(
            DomainReport(domain, rows, files, qcounts, tcounts, time.perf_counter() - t1, note)
        )
    report.seconds = time.perf_counter() - t0
    return report


def seed_instances(report: BuildReport, seed: int, per_template: int = 2) -> list[Instance]:
    """Oracle demonstrations from a different RNG stream, excluding the evaluation questions."""
    out: list[Instance] = []
    for domain in DOMAINS:
        data = report.data.get(domain)
        for level in ("easy", "hard"):
            if not TEMPLATES[domain][level] or (domain == "scirex" and getattr(data, "real", False)):
                continue
            taken = {i.question for i in report.instances.get((domain, level), [])}
            rng = domain_rng(seed, domain, f"seed-{level}")
            insts = instantiate(
                TEMPLATES[domain][level], data, rng, per_template + 2, f"seed-{level}-{domain}"
            )
            by_tpl: dict[str, int] = {}
            for inst in insts:
                if inst.question in taken or by_tpl.get(inst.template, 0) >= per_template:
                    continue
                by_tpl[inst.template] = by_tpl.get(inst.template, 0) + 1
                out.append(inst)
    return out


__all__ = [
    "DOMAINS",
    "TEMPLATES",
    "BuildReport",
    "DomainReport",
    "build_corpus",
    "make_questions",
    "seed_instances",
]
