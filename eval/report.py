"""Reports from a run log: per domain × method accuracy table (markdown and rich), batch-wise learning
curve (PNG) and pool growth, written as one markdown file beside the log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from seer.eval.runlog import BatchLog, RebuildLog, RunHeader, RunLog, TaskLog


@dataclass(frozen=True)
class Row:
    domain: str
    method: str
    n: int
    em: float
    judged: float
    steps: float
    seconds: float
    cpu_seconds: float  # mean over the tasks that logged it; 0 when none did (older logs)
    prompt_tokens: float
    computed_prompt_tokens: float | None  # prompt tokens not served from the KV cache; None: not logged
    tokens: float


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def evaluated(tasks: Sequence[TaskLog]) -> list[TaskLog]:
    """The tasks that count for accuracy: the online stream, or the test split of a held-out run."""
    test = [t for t in tasks if t.phase == "test"]
    return test or [t for t in tasks if t.phase == "online"]


def summary(tasks: Sequence[TaskLog]) -> list[Row]:
    """One row per (domain, method) plus an "all" row per method; accuracy as a percentage."""
    groups: dict[tuple[str, str], list[TaskLog]] = defaultdict(list)
    for t in evaluated(tasks):
        groups[(t.domain, t.method)].append(t)
        groups[("all", t.method)].append(t)
    rows = []
    for (domain, method), group in groups.items():
        rows.append(Row(domain, method, len(group), 100 * _mean([t.em for t in group]),
                        100 * _mean([t.verdict.success for t in group]), _mean([len(t.steps) for t in group]),
                        _mean([t.seconds for t in group]),
                        _mean([t.cpu_seconds for t in group if t.cpu_seconds]),
                        _mean([t.prompt_tokens for t in group]),
                        _computed(group),
                        _mean([t.prompt_tokens + t.completion_tokens for t in group])))
    methods = list(dict.fromkeys(t.method for t in tasks))
    return sorted(rows, key=lambda r: (r.domain == "all", r.domain, methods.index(r.method)))


def markdown_table(rows: Sequence[Row]) -> str:
    """Accuracy table: EM (primary), judge verdict, mean steps, seconds and tokens per task."""
    lines = ["| domain | method | n | EM % | judged % | steps | s/task | CPU s/task | prompt tokens/task "
             "| computed prompt tokens/task | tokens/task |", "|---|---|" + "---:|" * 9]
    for r in rows:
        lines.append(f"| {r.domain} | {r.method} | {r.n} | {r.em:.1f} | {r.judged:.1f} | {r.steps:.1f} | "
                     f"{r.seconds:.1f} | {_cpu(r)} | {r.prompt_tokens:.0f} | {_computed_cell(r)} | "
                     f"{r.tokens:.0f} |")
    return "\n".join(lines)


def _computed(tasks: Sequence[TaskLog]) -> float | None:
    logged = [t.prompt_tokens - t.cached_prompt_tokens for t in tasks if t.cached_prompt_tokens is not None]
    return _mean(logged) if logged else None


def _computed_cell(row: Row) -> str:
    return "–" if row.computed_prompt_tokens is None else f"{row.computed_prompt_tokens:.0f}"


def _cpu(row: Row) -> str:
    return f"{row.cpu_seconds:.1f}" if row.cpu_seconds else "–"


def console(*, stderr: bool = False) -> Any:
    """A rich console that never cuts a table: piped or logged output (CI, ``| tee``) gets a width that
    fits the content instead of rich's 80-column default; see :func:`unclipped` for terminals."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


PIPE_WIDTH = 240


def unclipped(table: Any) -> Any:
    """Columns wrap instead of ending in an ellipsis when a terminal is narrower than the table."""
    for column in table.columns:
        column.overflow, column.no_wrap = "fold", False
    return table


def rich_table(rows: Sequence[Row], bench: str = "") -> object:
    """The same table for the terminal, titled by the benchmark (empty: ToolQA)."""
    from rich.table import Table

    table = Table(title=f"{bench_title(bench)} accuracy")
    columns = ("domain", "method", "n", "EM %", "judged %", "steps", "s/task", "CPU s/task",
               "prompt tok/task", "computed prompt tok/task", "tokens/task")
    for name in columns:
        table.add_column(name, justify="left" if name in ("domain", "method") else "right")
    for r in rows:
        table.add_row(r.domain, r.method, str(r.n), f"{r.em:.1f}", f"{r.judged:.1f}", f"{r.steps:.1f}",
                      f"{r.seconds:.1f}", _cpu(r), f"{r.prompt_tokens:.0f}", _computed_cell(r),
                      f"{r.tokens:.0f}")
    return unclipped(table)


def learning_curve(tasks: Sequence[TaskLog]) -> dict[str, list[tuple[int, float, int]]]:
    """Per method: (batch, EM %, n) over the learning stream (online, or the train split)."""
    curve: dict[str, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for t in tasks:
        if t.phase in ("online", "train"):
            curve[t.method][t.batch].append(t.em)
    return {m: [(b, 100 * _mean(v), len(v)) for b, v in sorted(batches.items())]
            for m, batches in curve.items()}


class Growth(NamedTuple):
    """A batch flush: the pool's size after it, records stored as new rows, records merged into a
    near-duplicate already there (same intent, tool chain and task: it counts the success, no new row),
    successes the server refused (e.g. no working tool step)."""

    batch: int
    size: int
    stored: int
    merged: int
    refused: int = 0

    def text(self) -> str:
        notes = [f"{n} {what}" for n, what in ((self.merged, "merged"), (self.refused, "refused")) if n]
        return f"{self.size} (+{self.stored}, {', '.join(notes)})" if notes else str(self.size)


def pool_growth(batches: Sequence[BatchLog]) -> dict[str, list[Growth]]:
    """Per method, each batch flush in order."""
    out: dict[str, list[Growth]] = defaultdict(list)
    for b in batches:
        out[b.method].append(Growth(b.batch, b.pool_size, len(b.stored_ids), len(b.merged_into),
                                    len(b.rejected)))
    return dict(out)


def _plot(series: dict[str, list[tuple[int, float]]], path: Path, ylabel: str, title: str,
          ylim: tuple[float, float] | None = None) -> Path:
    """One line per method over batches, as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (method, points) in enumerate(series.items()):  # equal series stay visible: each drawn smaller
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="osD^v"[i % 5], label=method,
                markersize=max(3.0, 9.0 - 2.0 * i), linewidth=max(1.0, 3.0 - 0.8 * i),
                linestyle=("-", "--", ":", "-.")[i % 4])
    ax.set_xlabel("batch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    else:
        ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_curve(curve: dict[str, list[tuple[int, float, int]]], path: Path, bench: str = "") -> Path:
    """Batch-wise EM accuracy per method as a PNG, the axis named by the run's checker (empty: ToolQA)."""
    ylabel = f"passed by {bench}'s checker (%)" if bench else "exact match (%)"
    return _plot({m: [(b, acc) for b, acc, _ in points] for m, points in curve.items()}, path,
                 ylabel, f"{bench_title(bench)}: batch-wise accuracy", (0, 100))


def gain_over(tasks: Sequence[TaskLog], baseline: str = "react") -> dict[str, list[tuple[int, int, int]]]:
    """Per method but the baseline: (batch, right answers minus the baseline's on the same questions of the
    batch, the running sum). The baseline learns nothing, so it cancels the batches' differing difficulty:
    a method that learns shows a running sum that grows faster batch after batch."""
    right: dict[str, dict[str, bool]] = defaultdict(dict)
    batch_of: dict[str, int] = {}
    for t in tasks:
        if t.phase in ("online", "train"):
            right[t.method][t.qid] = t.em
            if t.method == baseline:
                batch_of[t.qid] = t.batch
    out: dict[str, list[tuple[int, int, int]]] = {}
    for method, answers in right.items():
        if method == baseline:
            continue
        per_batch: dict[int, int] = defaultdict(int)
        for qid, em in answers.items():
            if qid in batch_of:
                per_batch[batch_of[qid]] += int(em) - int(right[baseline][qid])
        total, points = 0, []
        for batch in sorted(per_batch):
            total += per_batch[batch]
            points.append((batch, per_batch[batch], total))
        out[method] = points
    return out


def gain_markdown(gain: dict[str, list[tuple[int, int, int]]], baseline: str) -> list[str]:
    """Right answers beyond the baseline's per batch, with the running sum in brackets."""
    return _batch_table({m: {b: f"{d:+d} ({total:+d})" for b, d, total in points}
                         for m, points in gain.items()})


def plot_gain(gain: dict[str, list[tuple[int, int, int]]], path: Path, baseline: str) -> Path:
    """The running sum of right answers beyond the baseline's, per method, as a PNG."""
    return _plot({m: [(b, total) for b, _, total in points] for m, points in gain.items()}, path,
                 f"right answers beyond {baseline}'s (running sum)", f"Gain over {baseline}, batch by batch")


def _batch_table(cells: dict[str, dict[int, str]]) -> list[str]:
    """A markdown table of one row per method and one column per batch (blank where a method has none)."""
    batches = sorted({b for row in cells.values() for b in row})
    lines = ["| method | " + " | ".join(f"batch {b}" for b in batches) + " |",
             "|---|" + "---:|" * len(batches)]
    lines += [f"| {method} | " + " | ".join(row.get(b, "") for b in batches) + " |"
              for method, row in cells.items()]
    return [*lines, ""]


def curve_markdown(curve: dict[str, list[tuple[int, float, int]]]) -> list[str]:
    """The learning curve as a markdown table: one row per method, one column per batch."""
    return _batch_table({m: {b: f"{acc:.0f}% (n={n})" for b, acc, n in points}
                         for m, points in curve.items()})


def growth_markdown(growth: dict[str, list[Growth]]) -> list[str]:
    """Pool size after each batch flush, one line per method."""
    if not growth:
        return []
    lines = [f"- {m}: " + ", ".join(f"batch {g.batch}: {g.text()}" for g in points)
             for m, points in growth.items()]
    out = ["## Pool growth (experiences after each batch flush)", "", *lines, ""]
    if any(g.merged for points in growth.values() for g in points):
        out += ["(+N: new rows; M merged: records that matched a near-duplicate already in the pool, same "
                "intent, tool chain and task, which counts the success and adds no row)", ""]
    return out


def own_recall_share(
    tasks: Sequence[TaskLog], records: Sequence[BatchLog | RebuildLog]
) -> dict[str, list[tuple[int, int, int]]]:
    """Per method that recalls: (batch, recalled demonstrations the run recorded itself, all recalled).
    Shows whether the pool's growth reaches the prompts at all (the rest are seed demonstrations).
    The run's own ids: those its batches flushed, its immediate records, and those of a rebuilt pool."""
    own: dict[str, set[str]] = defaultdict(set)
    for b in records:
        own[b.method].update(b.stored_ids)
    for t in tasks:
        if t.record.status == "stored" and t.record.id:
            own[t.method].add(t.record.id)
    counts: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in tasks:
        if t.phase not in ("online", "train"):
            continue
        for step in t.steps:
            for hit in step.recalled or []:
                cell = counts[t.method][t.batch]
                cell[0] += hit.id in own[t.method]
                cell[1] += 1
    return {m: [(b, c[0], c[1]) for b, c in sorted(per.items())] for m, per in counts.items()}


def own_share_markdown(share: dict[str, list[tuple[int, int, int]]]) -> list[str]:
    """The share of recalled demonstrations that the run recorded itself, per batch."""
    if not any(own for points in share.values() for _, own, _ in points):
        return []
    table = _batch_table({m: {b: f"{100 * own / total:.0f}%" if total else "" for b, own, total in points}
                          for m, points in share.items()})
    return ["## Own experiences among the recalled demonstrations (the rest are seeds)", "", *table]


def bench_title(bench: str) -> str:
    """A run's benchmark as headings name it (empty: ToolQA)."""
    return bench.upper() or "ToolQA"


def metric_text(bench: str) -> str:
    """What EM means for a run of ``bench`` (empty: ToolQA)."""
    return f"EM is {bench}'s own checker: the task passed" if bench else "EM is ToolQA's exact match"


def write_report(log: RunLog, out_dir: Path | None = None) -> Path:
    """``report.md`` (+ ``learning_curve.png``) beside the log; returns the markdown path."""
    lines = log.read()
    out_dir = out_dir or log.path.parent
    tasks = [x for x in lines if isinstance(x, TaskLog)]
    header = next((x for x in lines if isinstance(x, RunHeader)), None)
    curve = learning_curve(tasks)
    batch_lines = [x for x in lines if isinstance(x, BatchLog)]
    growth = pool_growth(batch_lines)
    bench = str(header.config.get("bench", "")) if header else ""
    parts = [f"# {bench_title(bench)} run {header.run if header else log.path.parent.name}", ""]
    if header:
        cfg = header.config
        keys = ("bench", "options", "protocol", "methods", "domains", "level", "limit", "batches", "k",
                "model", "judge", "call_mode", "concurrency")
        parts += ["Settings: " + ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg), ""]
    split = "held-out test split" if any(t.phase == "test" for t in tasks) else "online stream"
    metric = metric_text(bench)
    parts += [f"## Accuracy ({split}; {metric}, the primary metric)", "",
              markdown_table(summary(tasks)), ""]
    if curve and any(len(points) > 1 for points in curve.values()):
        plot_curve(curve, out_dir / "learning_curve.png", bench)
        parts += ["## Learning curve", "", "![learning curve](learning_curve.png)", ""]
    if curve:
        parts += curve_markdown(curve)
    parts += growth_markdown(growth)
    rebuilds = [x for x in lines if isinstance(x, RebuildLog)]
    parts += own_share_markdown(own_recall_share(tasks, [*batch_lines, *rebuilds]))
    path = out_dir / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
