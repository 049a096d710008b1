"""The versioned JSONL run log: one header, one line per finished task, one line per flushed batch.

Every line is a pydantic record with ``schema_version`` and a ``kind`` discriminator. Lines are
appended and fsynced one at a time, so a crash loses at most the line being written; reading
tolerates a torn last line. Resuming reads the log and skips the tasks already finished.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

SCHEMA_VERSION = 1


class _Line(BaseModel):
    schema_version: int = SCHEMA_VERSION
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class RunHeader(_Line):
    kind: Literal["run"] = "run"
    run: str
    config: dict[str, Any]
    seer_version: str = ""
    # what each method did when the run started (its recall settings, whether it learns): a resume checks
    # that the names still mean that. Empty in logs written before 2026-12-03.
    definitions: dict[str, Any] = {}


class RecalledRef(BaseModel):
    id: str
    score: float
    s1: float
    s2: float
    s3: float


class StepLog(BaseModel):
    index: int
    recalled: list[RecalledRef] | None = None  # None: no recall phase (ReAct)
    recall_steps_sent: int = 0
    recall_s: float = 0.0
    thought: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    observation: str = ""
    raw: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, served from the model's KV cache
    latency_s: float = 0.0
    tool_s: float = 0.0


class VerdictLog(BaseModel):
    success: bool
    kind: str
    detail: str = ""


class RecordLog(BaseModel):
    """What happened to the trajectory: stored now, buffered until the batch end, or not recorded."""

    status: Literal["stored", "rejected", "buffered", "skipped"]
    id: str | None = None
    reason: str = ""


class TaskLog(_Line):
    kind: Literal["task"] = "task"
    method: str
    phase: Literal["online", "train", "test"]
    batch: int
    qid: str
    domain: str
    level: str
    question: str
    intent: str | None = None
    intent_source: str = ""
    answer: str | None = None
    gold: str
    halted: str
    em: bool
    verdict: VerdictLog
    steps: list[StepLog]
    recalled_ids: list[str] = Field(default_factory=list)
    record: RecordLog
    pool_size: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the harness process (all threads, incl. an in-process model)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int | None = None  # None: the log predates the field
    copied_from: str | None = None  # "<run>:<method>" whose identical episode this is (`run fork`)


class BatchLog(_Line):
    kind: Literal["batch"] = "batch"
    method: str
    phase: Literal["online", "train", "test"]
    batch: int
    flushed: int
    stored_ids: list[str] = Field(default_factory=list)
    merged_into: list[str] = Field(default_factory=list)  # near-duplicates a record merged with: no new row
    rejected: dict[str, str] = Field(default_factory=dict)  # qid → why the server stored a success not at all
    pool_size: int = 0


class RebuildLog(_Line):
    """A lost pool file rebuilt on resume by replaying the log's records: the ids they got this time."""

    kind: Literal["rebuild"] = "rebuild"
    method: str
    replayed: int
    stored_ids: list[str] = Field(default_factory=list)
    pool_size: int = 0


AnyLine = RunHeader | TaskLog | BatchLog | RebuildLog
LogLine = Annotated[AnyLine, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[AnyLine] = TypeAdapter(LogLine)


class RunLogError(Exception):
    """The log cannot be read (a corrupt line other than the last, or a newer schema)."""


class RunLog:
    """Append-only JSONL log of one run (``<out>/runlog.jsonl``)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def append(self, line: AnyLine) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = line.model_dump_json() + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def read(self) -> list[AnyLine]:
        """All complete lines; a torn (unterminated or unparsable) last line is dropped and truncated away."""
        if not self.path.is_file():
            return []
        raw = self.path.read_bytes()
        complete, _, torn = raw.rpartition(b"\n")
        if torn:  # the last write did not finish: drop it so the next append starts a fresh line
            self._truncate(len(complete) + 1 if complete else 0)
        out: list[AnyLine] = []
        for i, line in enumerate(complete.split(b"\n") if complete else []):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise RunLogError(f"{self.path}:{i + 1}: corrupt line ({exc})") from exc
            if record.get("schema_version", 0) > SCHEMA_VERSION:
                raise RunLogError(f"{self.path}:{i + 1}: schema_version {record['schema_version']} is newer "
                                  f"than this seer's ({SCHEMA_VERSION})")
            try:
                out.append(_ADAPTER.validate_python(record))
            except ValidationError as exc:
                raise RunLogError(f"{self.path}:{i + 1}: invalid record ({exc})") from exc
        return out

    def _truncate(self, size: int) -> None:
        with self.path.open("r+b") as fh:
            fh.truncate(size)

    def header(self) -> RunHeader | None:
        for line in self.read():
            if isinstance(line, RunHeader):
                return line
        return None

    def tasks(self) -> list[TaskLog]:
        return [line for line in self.read() if isinstance(line, TaskLog)]

    def finished(self) -> set[tuple[str, str, str]]:
        """(method, phase, qid) of every finished task."""
        return {(t.method, t.phase, t.qid) for t in self.tasks()}
