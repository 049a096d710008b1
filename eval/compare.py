"""Compare runs made separately (e.g. one method per run directory, run side by side on different cores).

Runs with the same stream settings (protocol, domains, level, limit, batches, seed, …) see the same
seeded question stream, so a comparison is fair on the questions every method finished: a partial run
is compared on the common prefix, never on a different set of questions. Besides the accuracy table
and the batch-wise learning curve, the report pairs every method with a reference method question by
question (wins, losses, exact McNemar p) — small samples need that honesty.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

from seer.eval.evidence import evidence, evidence_markdown
from seer.eval.report import (
    bench_title,
    curve_markdown,
    evaluated,
    gain_markdown,
    gain_over,
    growth_markdown,
    learning_curve,
    markdown_table,
    metric_text,
    own_recall_share,
    own_share_markdown,
    plot_curve,
    plot_gain,
    pool_growth,
    summary,
)
from seer.eval.runlog import BatchLog, RebuildLog, RunHeader, RunLog, TaskLog

STREAM_KEYS = ("bench", "options", "protocol", "domains", "level", "limit", "batches", "immediate", "seed",
               "train_frac", "model", "model_name", "judge", "call_mode", "on_error", "max_steps", "corpus",
               "questions")
"""Settings that must agree for runs to have seen the same questions under the same conditions."""

PROTOCOL_KEYS = ("protocol", "train_frac")
"""Settings a run of methods that learn nothing may differ in: its answer to a question does not depend on
what came before it, so an online run of react or static stands in for the test split of a held-out one."""


class CompareError(ValueError):
    """The runs cannot be compared (missing log, differing stream settings, a method in two runs)."""


@dataclass(frozen=True)
class Paired:
    """Question-by-question comparison of ``method`` with the reference method."""

    method: str
    n: int
    reference_only: int  # reference right, method wrong
    method_only: int  # method right, reference wrong
    both: int
    neither: int

    @property
    def p_value(self) -> float:
        """Exact two-sided McNemar test on the discordant pairs (binomial, p = 0.5)."""
        k, n = min(self.reference_only, self.method_only), self.reference_only + self.method_only
        if n == 0:
            return 1.0
        return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)


@dataclass
class Comparison:
    tasks: list[TaskLog]  # evaluated tasks on the common questions
    batches: list[BatchLog]
    config: dict[str, Any]
    runs: dict[str, Path]  # method -> run directory
    beyond_common: dict[str, int] = field(default_factory=dict)  # finished tasks left out, per method
    rebuilds: list[RebuildLog] = field(default_factory=list)  # pools rebuilt from the log on a resume
    stand_ins: list[str] = field(default_factory=list)  # frozen methods' online answers used as test answers

    @property
    def methods(self) -> list[str]:
        return list(self.runs)

    @property
    def qids(self) -> list[str]:
        return list(dict.fromkeys(t.qid for t in self.tasks))


def split_label(arg: str) -> tuple[Path, str | None]:
    """``DIR`` or ``DIR@LABEL`` (a directory whose own name holds ``@`` is taken as it is)."""
    if Path(arg).is_dir() or "@" not in arg:
        return Path(arg), None
    where, _, label = arg.rpartition("@")
    if not label or not where:
        raise CompareError(f"{arg}: expected DIR or DIR@LABEL")
    return Path(where), label


def _labelled(method: str, label: str | None) -> str:
    return method if label is None else f"{method}@{label}"


def _relabel(lines: list[Any], label: str | None) -> list[Any]:
    """Name a run's methods ``method@label``, so runs of one method from different starts sit side by side."""
    if label is None:
        return lines
    named = (TaskLog, BatchLog, RebuildLog)
    return [x.model_copy(update={"method": _labelled(x.method, label)}) if isinstance(x, named) else x
            for x in lines]


def _learns(methods: Sequence[str]) -> bool:
    """Whether any of a run's methods learns (an unknown name counts as learning: nothing is assumed)."""
    from seer.eval.methods import METHODS

    known = [METHODS.get(m.partition("@")[0]) for m in methods]  # "@" starts a k or a run's label
    return not known or any(m is None or m.learn for m in known)


@dataclass(frozen=True)
class _Run:
    out: Path
    path: Path  # its log
    header: RunHeader
    lines: list[Any]  # relabelled
    methods: list[str]  # relabelled


def _read(outs: Sequence[Path], labels: Sequence[str | None]) -> list[_Run]:
    read = []
    for i, out in enumerate(outs):
        log = RunLog(Path(out) / "runlog.jsonl")
        if not log.exists():
            raise CompareError(f"{log.path}: no run log")
        label = labels[i] if i < len(labels) else None
        lines = _relabel(log.read(), label)
        header = next((x for x in lines if isinstance(x, RunHeader)), None)
        if header is None:
            raise CompareError(f"{log.path}: no run header line")
        methods = [_labelled(m, label) for m in header.config.get("methods") or []]
        read.append(_Run(Path(out), log.path, header, lines, methods))
    return read


def load(outs: Sequence[Path], labels: Sequence[str | None] = ()) -> Comparison:
    """Read the run logs in ``outs`` and keep the questions every method finished. ``labels[i]``, when
    given, renames run i's methods ``method@label`` (e.g. seer from an empty pool beside seer from seeds).
    Beside held-out runs, an online run of methods that learn nothing (react, static) stands in for their
    test split: its answers to the test questions are kept, as test answers."""
    if not outs:
        raise CompareError("no run directories given")
    read = _read(outs, labels)
    heldout = any(r.header.config.get("protocol") == "heldout" for r in read)
    # the reference settings: the first run that learns (or the first run); stand-ins differ in protocol
    reference = next((r for r in read if _learns(r.methods)), read[0])
    config, first = reference.header.config, reference.path
    runs: dict[str, Path] = {}
    by_method: dict[str, list[TaskLog]] = {}
    batches: list[BatchLog] = []
    rebuilds: list[RebuildLog] = []
    stand_ins: list[str] = []

    def claim(method: str, out: Path, path: Path) -> None:
        if runs.setdefault(method, out) != out:
            raise CompareError(f"{path}: method {method!r} is also in {runs[method]} (label the runs: "
                               "DIR@LABEL)")
        by_method.setdefault(method, [])

    for run in read:
        stand_in = heldout and run.header.config.get("protocol") == "online" and not _learns(run.methods)
        for key in STREAM_KEYS:
            mine, theirs = run.header.config.get(key), config.get(key)
            if mine != theirs and not (stand_in and key in PROTOCOL_KEYS):
                hint = (" (only an online run of methods that learn nothing may stand in for a held-out "
                        "test split)") if key in PROTOCOL_KEYS else ""
                raise CompareError(f"{run.path}: setting {key}={mine!r} differs from {first}: "
                                   f"{key}={theirs!r}; the runs did not see the same stream{hint}")
        for method in run.methods:  # a run with no finished task yet still counts
            claim(method, run.out, run.path)
        stand_ins += run.methods if stand_in else []
        for t in evaluated([x for x in run.lines if isinstance(x, TaskLog)]):
            claim(t.method, run.out, run.path)
            by_method[t.method].append(t.model_copy(update={"phase": "test", "batch": 0}) if stand_in else t)
        batches += [x for x in run.lines if isinstance(x, BatchLog)]
        rebuilds += [x for x in run.lines if isinstance(x, RebuildLog)]
    if not by_method:
        raise CompareError("the run headers name no methods")
    common = set.intersection(*({t.qid for t in tasks} for tasks in by_method.values()))
    kept = [t for tasks in by_method.values() for t in tasks if t.qid in common]
    beyond = {m: sum(t.qid not in common for t in tasks) for m, tasks in by_method.items()}
    return Comparison(kept, batches, dict(config), runs, beyond, rebuilds, stand_ins)


def paired(tasks: Sequence[TaskLog], reference: str) -> list[Paired]:
    """Each method against ``reference`` on the questions both answered."""
    right: dict[str, dict[str, bool]] = {}
    for t in tasks:
        right.setdefault(t.method, {})[t.qid] = t.em
    if reference not in right:
        raise CompareError(f"reference method {reference!r} is not among the runs ({', '.join(right)})")
    ref = right[reference]
    rows = []
    for method, answers in right.items():
        if method == reference:
            continue
        qids = [q for q in answers if q in ref]
        rows.append(Paired(
            method, len(qids),
            sum(ref[q] and not answers[q] for q in qids), sum(answers[q] and not ref[q] for q in qids),
            sum(ref[q] and answers[q] for q in qids), sum(not ref[q] and not answers[q] for q in qids)))
    return rows


def paired_table(rows: Sequence[Paired], reference: str) -> str:
    lines = [f"| method | n | {reference} only right | method only right | both right | both wrong "
             "| McNemar p |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.method} | {r.n} | {r.reference_only} | {r.method_only} | {r.both} | "
                     f"{r.neither} | {r.p_value:.2g} |")
    return "\n".join(lines)


def _by_method(tasks: Sequence[TaskLog]) -> dict[str, list[TaskLog]]:
    """Tasks grouped by method, methods in order of first appearance."""
    groups: dict[str, list[TaskLog]] = {}
    for t in tasks:
        groups.setdefault(t.method, []).append(t)
    return groups


def lenient_table(tasks: Sequence[TaskLog]) -> str:
    """EM beside a numeric-equality verdict (``24`` = ``24.0``; ToolQA's EM strips the point and
    compares ``24`` with ``240``): how much of a gap is answer formatting rather than a wrong value."""
    from seer.eval.judges import numeric

    judge = numeric(rel_tol=1e-6)
    lines = ["| method | n | EM % | numerically equal % |", "|---|---:|---:|---:|"]
    for method, mine in _by_method(tasks).items():
        equal = sum(t.em or judge(t.question, t.answer, t.gold).success for t in mine)
        lines.append(f"| {method} | {len(mine)} | {100 * sum(t.em for t in mine) / len(mine):.1f} | "
                     f"{100 * equal / len(mine):.1f} |")
    return "\n".join(lines)


def outcome_table(tasks: Sequence[TaskLog]) -> str:
    """How each method's episodes ended: right, a wrong answer, halted on a tool/format error, step limit."""
    lines = ["| method | n | right | wrong answer | tool or format error | step limit |",
             "|---|---:|---:|---:|---:|---:|"]
    for method, mine in _by_method(tasks).items():
        wrong = sum(t.halted == "finish" and not t.em for t in mine)
        error = sum(t.halted == "error" and not t.em for t in mine)
        limit = sum(t.halted == "max_steps" and not t.em for t in mine)
        lines.append(f"| {method} | {len(mine)} | {sum(t.em for t in mine)} | {wrong} | {error} | {limit} |")
    return "\n".join(lines)


def cost_table(tasks: Sequence[TaskLog], server_cpu: dict[str, float] | None = None) -> str | None:
    """Cost per question on the questions for which every method logged its CPU time, so methods are
    compared on the same questions (a resumed older log has CPU times for its later part only).
    ``server_cpu``: the MCP server's CPU seconds per question of a method, where measured."""
    methods = list(_by_method(tasks))
    server_cpu = server_cpu or {}
    by_qid: dict[str, dict[str, TaskLog]] = {}
    for t in tasks:
        by_qid.setdefault(t.qid, {})[t.method] = t
    qids = [q for q, mine in by_qid.items() if all(m in mine and mine[m].cpu_seconds for m in methods)]
    if not qids:
        return None
    lines = ["| method | n | CPU s / question (harness + server) | wall s / question "
             "| prompt tokens / question | computed prompt tokens / question |",
             "|---|---:|---:|---:|---:|---:|"]
    for m in methods:
        mine = [by_qid[q][m] for q in qids]
        cpu = sum(t.cpu_seconds for t in mine) / len(mine)
        cpu_text = f"{cpu:.1f}"
        if m in server_cpu:
            cpu_text = f"{cpu + server_cpu[m]:.1f} ({cpu:.1f} + {server_cpu[m]:.1f})"
        lines.append(f"| {m} | {len(mine)} | {cpu_text} | "
                     f"{sum(t.seconds for t in mine) / len(mine):.1f} | "
                     f"{sum(t.prompt_tokens for t in mine) / len(mine):.0f} | "
                     f"{sum(t.prompt_tokens - (t.cached_prompt_tokens or 0) for t in mine) / len(mine):.0f}"
                     " |")
    return "\n".join(lines)


def server_cpu_per_question(cmp: Comparison) -> dict[str, float]:
    """Per method whose run folder holds only it: the server CPU seconds (``server_cpu.json``, written by
    a sidecar beside the run) over the tasks the method finished there."""
    out: dict[str, float] = {}
    for method, run_dir in cmp.runs.items():
        path = run_dir / "server_cpu.json"
        finished = sum(t.method == method for t in cmp.tasks) + cmp.beyond_common.get(method, 0)
        if list(cmp.runs.values()).count(run_dir) != 1 or not path.is_file() or not finished:
            continue
        try:
            out[method] = float(json.loads(path.read_text(encoding="utf-8"))["cpu_seconds"]) / finished
        except (ValueError, KeyError, TypeError):
            continue
    return out


def write_report(cmp: Comparison, out_dir: Path, reference: str = "seer") -> Path:
    """``report.md`` and ``learning_curve.png`` in ``out_dir``; returns the markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = cmp.config
    settings = ", ".join(f"{k}={cfg[k]}" for k in (*STREAM_KEYS, "k") if k in cfg)
    per_domain: dict[str, int] = {}
    for t in cmp.tasks:
        if t.method == cmp.methods[0]:
            per_domain[t.domain] = per_domain.get(t.domain, 0) + 1
    bench = str(cfg.get("bench", ""))
    parts = [f"# {bench_title(bench)} comparison", "", f"Settings: {settings}", "",
             "Runs: " + ", ".join(f"{m} (`{p}`)" for m, p in cmp.runs.items()), "",
             f"Common questions (finished by every method): {len(cmp.qids)} — "
             + ", ".join(f"{d} {n}" for d, n in sorted(per_domain.items())), ""]
    copied = {m: sum(t.copied_from is not None for t in cmp.tasks if t.method == m) for m in cmp.methods}
    if any(copied.values()):
        parts += ["Copied with `run fork` from a memory-free run (the pool was still empty, so the episode "
                  "is the same token for token; its costs are the source's): "
                  + ", ".join(f"{m} {n}" for m, n in copied.items() if n), ""]
    if cmp.stand_ins:
        parts += ["Held-out test split: " + ", ".join(cmp.stand_ins) + " learn nothing, so their answers "
                  "come from online runs of the same questions (a question's answer does not depend on what "
                  "came before it, up to llama.cpp's numerics).", ""]
    if any(cmp.beyond_common.values()):
        parts += ["Left out (finished by some methods only): "
                  + ", ".join(f"{m} {n}" for m, n in cmp.beyond_common.items()), ""]
    parts += [f"## Accuracy ({metric_text(bench)}, the primary metric)", "",
              markdown_table(summary(cmp.tasks)), ""]
    if cmp.tasks and not bench:  # a benchmark's checker judges states, not numbers
        parts += ["EM beside numeric equality (same numbers, different formatting):", "",
                  lenient_table(cmp.tasks), ""]
    if cmp.tasks:
        parts += ["How the episodes ended:", "", outcome_table(cmp.tasks), ""]
    costs = cost_table(cmp.tasks, server_cpu_per_question(cmp))
    if costs:
        parts += ["Cost on the questions every method has CPU times for:", "", costs, ""]
    if cmp.tasks and reference in cmp.methods and len(cmp.methods) > 1:
        pairs = paired_table(paired(cmp.tasks, reference), reference)
        parts += [f"## Paired with {reference}", "", pairs, ""]
    curve = learning_curve(cmp.tasks)
    if curve:
        if any(len(points) > 1 for points in curve.values()):
            plot_curve(curve, out_dir / "learning_curve.png", bench)
            parts += ["## Learning curve (batch-wise EM on the common questions)", "",
                      "![learning curve](learning_curve.png)", ""]
        parts += curve_markdown(curve)
    if "react" in cmp.methods and len(cmp.methods) > 1:
        gain = gain_over(cmp.tasks, "react")
        if any(len(points) > 1 for points in gain.values()):
            plot_gain(gain, out_dir / "gain_over_react.png", "react")
            parts += ["## Gain over react, batch by batch", "",
                      "Right answers beyond react's on the same questions of each batch (running sum in "
                      "brackets). react learns nothing, so this cancels the batches' differing mix of "
                      "domains; a method that learns has a running sum that climbs faster as its pool grows.",
                      "", "![gain over react](gain_over_react.png)", "", *gain_markdown(gain, "react")]
    parts += growth_markdown(pool_growth(cmp.batches))
    parts += own_share_markdown(own_recall_share(cmp.tasks, [*cmp.batches, *cmp.rebuilds]))
    seeds = cfg.get("seeds")
    library = Path(seeds) if seeds and seeds != "none" else None
    parts += evidence_markdown(evidence(cmp.tasks, [*cmp.batches, *cmp.rebuilds], library))
    path = out_dir / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
