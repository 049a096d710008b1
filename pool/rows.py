"""Stored forms of an experience row: the experiences table's columns in order, JSON text columns, and
rows as numpy columns for bulk inserts (no SQL here: that is `seer.pool.store`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

COLUMNS = (
    "seq",
    "id",
    "task",
    "intent",
    "intent_source",
    "steps",
    "tool_chain",
    "template",
    "norm_task",
    "demo_text",
    "tokens",
    "query_embedding",
    "trajectory_embedding",
    "judge_kind",
    "judge_verdict",
    "model",
    "embedder_id",
    "source_task_id",
    "final_answer",
    "created_at",
    "times_recalled",
    "times_in_success",
    "recorder",
    "status",
    "status_reason",
)
# a record acknowledged before it was embedded (the pending_records table): no seq and no vectors yet
PENDING_COLUMNS = tuple(c for c in COLUMNS if c not in ("seq", "query_embedding", "trajectory_embedding"))
# what bulk loads that predate provenance (numpy columns without these) get
PROVENANCE_DEFAULTS = {"recorder": "local", "status": "active", "status_reason": ""}


def dumps(value: Any) -> str:
    """Compact JSON for the text columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def to_param(value: Any) -> Any:
    """A row value as a DuckDB parameter (vectors as float32 lists)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float32).tolist()
    return value


def rows_to_columns(rows: Sequence[dict[str, Any]], dim: int) -> dict[str, np.ndarray]:
    """Row dicts (with seq) as numpy columns for the bulk insert path."""
    cols: dict[str, np.ndarray] = {}
    for name in COLUMNS:
        values = [row[name] for row in rows]
        if name.endswith("_embedding"):
            cols[name] = np.stack([np.asarray(v, dtype=np.float32) for v in values]).reshape(len(rows), dim)
        elif name in ("seq", "tokens", "times_recalled", "times_in_success"):
            cols[name] = np.asarray(values, dtype=np.int64)
        elif name == "created_at":
            cols[name] = np.asarray(values, dtype="datetime64[us]")
        else:
            cols[name] = np.asarray(values, dtype=object)
    return cols
