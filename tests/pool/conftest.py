"""Pool fixtures: a fresh HashEmbedder pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seer.pool import ExperiencePool, HashEmbedder, RecordRequest, Step


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[ExperiencePool]:
    p = ExperiencePool.open(tmp_path / "p.duckdb", HashEmbedder(), intent_labels=None)
    yield p
    p.close()


def steps_for(tools: list[str], tag: str = "") -> list[Step]:
    return [
        Step(thought=f"use {t} {tag}", tool=t, arguments={"raw": f"{t.lower()} {tag}"}, observation="ok")
        for t in tools
    ]


def _record(pool: ExperiencePool, task: str, intent: str, tools: list[str], **kw: object) -> str | None:
    out = pool.record(
        RecordRequest(
            task=task, steps=steps_for(tools, task), success=True, intent=intent, judge="exact", **kw
        )
    )  # type: ignore[arg-type]
    return out.id


@pytest.fixture
def record():  # type: ignore[no-untyped-def]
    """record(pool, task, intent, tools, **fields) -> stored id."""
    return _record
