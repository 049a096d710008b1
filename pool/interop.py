"""Import/export: the official SEER `library.json` and JSONL of `Experience`. Imports are all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seer.pool.accumulate import build_experience
from seer.pool.experience_pool import ExperiencePool
from seer.pool.models import Experience, PoolError, Step
from seer.pool.render import parse_step, render_step


class InteropError(PoolError):
    """An import file is invalid; the message names the file, the record (line) and the field."""


def _observations(full_text: str, n_steps: int) -> list[str]:
    """`Result i:` texts from a library record's full_text (empty when absent)."""
    out = [""] * n_steps
    marks = [(full_text.find(f"\nResult {i}: "), i) for i in range(1, n_steps + 1)]
    for pos, i in marks:
        if pos < 0:
            continue
        start = pos + len(f"\nResult {i}: ")
        end = full_text.find(f"\nStep {i + 1}:", start)
        out[i - 1] = full_text[start:] if end < 0 else full_text[start:end]
    return out


def parse_library(path: Path) -> list[Experience]:
    """Experiences (intent_source gold, judge_kind seed, recorder ``seed:<file name>``) from the official
    library.json; validates all."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InteropError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, list):
        raise InteropError(f"{path}: expected a JSON list of records")
    out: list[Experience] = []
    for index, record in enumerate(data):
        where = f"{path}: record {index}"
        if not isinstance(record, dict):
            raise InteropError(f"{where}: not an object")
        for field in ("id", "class", "question", "steps"):
            if field not in record:
                raise InteropError(f"{where}: field {field!r} is missing")
        if not isinstance(record["steps"], list) or not record["steps"]:
            raise InteropError(f"{where}: field 'steps' must be a non-empty list")
        steps: list[Step] = []
        obs = _observations(str(record.get("full_text", "")), len(record["steps"]))
        for j, text in enumerate(record["steps"]):
            try:
                step = parse_step(str(text))
            except ValueError as exc:
                raise InteropError(f"{where}: field 'steps[{j}]': {exc}") from exc
            steps.append(step.model_copy(update={"observation": obs[j]}))
        exp = build_experience(
            str(record["question"]),
            steps,
            str(record["class"]),
            "gold",
            judge_kind="seed",
            judge_verdict="official SEER library",
            source_task_id=str(record["id"]),
            final_answer=str(steps[-1].arguments.get("answer", "")) if steps[-1].tool == "Finish" else "",
            ident=f"seed-{record['id']}",
        )
        exp.recorder = f"seed:{Path(path).name}"
        out.append(exp)
    return out


def render_library_record(exp: Experience) -> dict[str, Any]:
    """An experience as an official library.json record (steps rendered back to text)."""
    from seer.pool.render import render_arguments

    return {
        "id": exp.source_task_id or exp.id,
        "class": exp.intent,
        "question": exp.task,
        "steps": [render_step(s, i) for i, s in enumerate(exp.steps, 1)],
        "tools": [s.tool for s in exp.steps],
        "parameters": [render_arguments(s.arguments) for s in exp.steps[1:]] if exp.steps else [],
        "full_text": exp.demo_text,
    }


def parse_jsonl(path: Path) -> list[Experience]:
    """Experiences from JSONL (one `Experience` per line); errors name the line and the field."""
    out: list[Experience] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InteropError(f"{path}: cannot read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Experience.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or "(record)"
            raise InteropError(f"{path}: line {number}: field {field!r}: {err['msg']}") from exc
    return out


def import_file(pool: ExperiencePool, path: Path) -> dict[str, int]:
    """Import library.json (a JSON list) or JSONL into the pool in one transaction. JSONL records that
    name no recorder get ``seed:<file name>``."""
    path = Path(path)
    exps = parse_library(path) if _is_library(path) else parse_jsonl(path)
    for exp in exps:
        if "recorder" not in exp.model_fields_set:
            exp.recorder = f"seed:{path.name}"
    added = pool.add_experiences(exps)
    return {"read": len(exps), "added": len(added), "skipped": len(exps) - len(added)}


def _is_library(path: Path) -> bool:
    with open(path, encoding="utf-8") as handle:
        head = handle.read(64).lstrip()
    return head.startswith("[")


def export_jsonl(experiences: Iterable[Experience], path: Path, *, vectors: bool = True) -> int:
    """Write experiences as JSONL; returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8") as handle:
        for exp in experiences:
            data = exp.model_dump(mode="json")
            if not vectors:
                data["query_embedding"] = data["trajectory_embedding"] = None
            handle.write(json.dumps(data, ensure_ascii=False) + "\n")
            n += 1
    return n


def export_file(pool: ExperiencePool, path: Path) -> int:
    """Export to `.json` (library.json form) or JSONL (anything else)."""
    path = Path(path)
    if path.suffix == ".json":
        records = [render_library_record(e) for e in pool.experiences()]
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        return len(records)
    return export_jsonl(pool.experiences(vectors=True), path)
