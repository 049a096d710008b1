"""Step-level evidence from run logs: what recall showed the model, and what the model did with it.

For every task of a method that recalls, the demonstrations shown over the episode are classed by their
*question type* (intent + the question's type words, as `bench tune-weights` defines it): none shown, at
least one of the task's own type, or only other types. Accuracy per class is set beside a memory-free
method's (react) on the same questions, so "recall hurt here" is a paired statement, not an impression.
A demonstration's type comes from its source: the seed library named in the run header, or the run's
own earlier task that the experience was recorded from (ids from batch flushes, immediate records and
rebuilt pools). Step 1 is also checked for copying: the model's first call equal to the first shown
demonstration's first call (tool and arguments).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seer.eval.bench.tune_weights import question_type
from seer.eval.runlog import BatchLog, RebuildLog, TaskLog
from seer.eval.runner import was_recorded

CLASSES = ("none shown", "same type shown", "other types only")


@dataclass(frozen=True)
class Source:
    """What a demonstration was recorded from: its question type and its first call."""

    kind: str
    first_call: tuple[str, str] | None  # (tool, sorted arguments as text)


def _call(tool: str | None, arguments: dict[str, Any]) -> tuple[str, str] | None:
    return None if tool is None else (tool, repr(sorted((k, str(v)) for k, v in arguments.items())))


def seed_sources(library: Path | None) -> dict[str, Source]:
    """The seed library's experiences by id (empty when the file is absent)."""
    if library is None or not Path(library).is_file():
        return {}
    from seer.pool.interop import parse_library

    out = {}
    for exp in parse_library(Path(library)):
        first = exp.steps[0] if exp.steps else None
        out[exp.id] = Source(question_type(exp.intent, exp.task),
                             None if first is None else _call(first.tool, dict(first.arguments)))
    return out


def _source(task: TaskLog) -> Source:
    first = task.steps[0] if task.steps else None
    return Source(question_type(task.intent or task.domain, task.question),
                  None if first is None else _call(first.tool, first.arguments))


def own_sources(tasks: Sequence[TaskLog], records: Sequence[BatchLog | RebuildLog]) -> dict[str, Source]:
    """The run's own experiences by id. A flush or rebuild is mapped to its tasks only when every record
    in it was stored (the ids then follow the tasks' order); otherwise its ids stay unknown."""
    out: dict[str, Source] = {}
    by_method: dict[str, list[TaskLog]] = defaultdict(list)
    for t in tasks:
        by_method[t.method].append(t)
        if t.record.status == "stored" and t.record.id:
            out[t.record.id] = _source(t)
    flushed = {(b.method, b.phase, b.batch) for b in records if isinstance(b, BatchLog)}
    for line in records:
        mine = by_method.get(line.method, [])
        if isinstance(line, BatchLog):
            recorded = [t for t in mine if (t.phase, t.batch) == (line.phase, line.batch)
                        and t.record.status == "buffered"]
        else:
            recorded = [t for t in mine if t.verdict.success and was_recorded(
                t, {(p, b) for m, p, b in flushed if m == line.method})][: line.replayed]
        if len(recorded) == len(line.stored_ids):
            out.update({i: _source(t) for i, t in zip(line.stored_ids, recorded, strict=True)})
    return out


@dataclass
class Cell:
    tasks: int = 0
    right: int = 0
    baseline_right: int = 0
    copied: int = 0
    copied_right: int = 0
    unknown_hits: int = 0  # shown demonstrations whose source the logs cannot name


def evidence(tasks: Sequence[TaskLog], records: Sequence[BatchLog | RebuildLog], library: Path | None,
             baseline: str = "react") -> dict[str, dict[str, Cell]]:
    """Per recalling method and class: tasks, right answers, the baseline's right answers on the same
    questions, and how many first calls copied the first shown demonstration (and were right)."""
    sources = seed_sources(library) | own_sources(tasks, records)
    base = {t.qid: t.em for t in tasks if t.method == baseline}
    out: dict[str, dict[str, Cell]] = defaultdict(lambda: {c: Cell() for c in CLASSES})
    for t in tasks:
        if t.method == baseline or all(s.recalled is None for s in t.steps):
            continue
        mine = question_type(t.intent or t.domain, t.question)
        shown = [hit.id for s in t.steps for hit in s.recalled or []]
        kinds = {sources[i].kind for i in shown if i in sources}
        cls = CLASSES[0] if not shown else CLASSES[1] if mine in kinds else CLASSES[2]
        cell = out[t.method][cls]
        cell.tasks += 1
        cell.unknown_hits += sum(i not in sources for i in shown)
        cell.right += t.em
        cell.baseline_right += base.get(t.qid, False)
        first = t.steps[0] if t.steps else None
        shown_first = [h.id for h in (first.recalled or [])] if first else []
        demo = sources.get(shown_first[0]) if shown_first else None
        if first is not None and demo is not None and demo.first_call is not None \
                and demo.first_call == _call(first.tool, first.arguments):
            cell.copied += 1
            cell.copied_right += t.em
    return dict(out)


def evidence_markdown(found: dict[str, dict[str, Cell]], baseline: str = "react") -> list[str]:
    """A table per method: class, tasks, EM, the baseline's EM on those questions, copied first calls."""
    if not found:
        return []
    lines = ["## What recall showed, and what it did (step-level evidence from the run logs)", "",
             "Each task is classed by the demonstrations shown over its episode: of its own question type "
             "(intent and type words), only of other types, or none. "
             f"`{baseline}` is the same question answered without memory. A copied first call equals "
             "the first shown demonstration's first call (tool and arguments).", "",
             f"| method | shown | tasks | EM | {baseline} EM (same questions) | copied first call (right) |",
             "|---|---|---:|---:|---:|---:|"]
    unknown = []
    for method, cells in found.items():
        for cls in CLASSES:
            c = cells[cls]
            if c.tasks:
                lines.append(f"| {method} | {cls} | {c.tasks} | {c.right} | {c.baseline_right} | "
                             f"{c.copied} ({c.copied_right}) |")
        if missing := sum(c.unknown_hits for c in cells.values()):
            unknown.append(f"{method} {missing}")
    if unknown:
        lines += ["", "Shown demonstrations of unknown source (counted as other types): "
                  + ", ".join(unknown)]
    return [*lines, ""]
