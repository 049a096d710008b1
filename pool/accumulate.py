"""Algorithm 2 hygiene: which trajectories are stored, duplicates, capacity and eviction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from seer.pool.mirror import Mirror
from seer.pool.models import Experience, Step
from seer.pool.render import approx_tokens, normalise_task, render_demo, template_key
from seer.pool.rows import dumps


@dataclass(frozen=True)
class Capacity:
    """Pool limits and the eviction policy.

    Above ``per_intent`` experiences of one intent or ``total`` in all, the least useful go: held and
    quarantined ones first, then the lowest times_in_success, then the oldest. A record evicts at most
    ``max_evict_per_write`` (a pool opened with lower limits than its size shrinks over the following
    writes, never by thousands in one call); `ExperiencePool.prune` applies the limits in full.
    ``dedup_cosine``: the query cosine that makes a duplicate."""

    per_intent: int = 250_000
    total: int = 1_000_000
    dedup_cosine: float = 0.97
    max_evict_per_write: int = 16


COSINE_CHUNK = 65_536  # rows per product when dedup compares a batch with the whole pool
NEAR_SCAN_MAX = 8_192  # a template with more peers compares cosines only with the ANN's near neighbours
NearSlots = Callable[[Experience, np.ndarray], np.ndarray]  # approximate nearest slots by query vector


def new_id() -> str:
    """A fresh experience id."""
    return uuid.uuid4().hex[:16]


def clean_steps(steps: list[Step]) -> list[Step]:
    """Drop failed steps (ok=False): demonstrations show only calls that worked."""
    return [s for s in steps if s.ok]


def experience_row(exp: Experience) -> dict[str, Any]:
    """The DuckDB row of an experience but its seq (vectors must be set; the store numbers rows)."""
    created = exp.created_at.astimezone(UTC).replace(tzinfo=None) if exp.created_at.tzinfo else exp.created_at
    return {
        "id": exp.id,
        "task": exp.task,
        "intent": exp.intent,
        "intent_source": exp.intent_source,
        "steps": dumps([s.model_dump() for s in exp.steps]),
        "tool_chain": dumps(exp.tool_chain),
        "template": template_key(exp.intent, exp.tool_chain),
        "norm_task": normalise_task(exp.task),
        "demo_text": exp.demo_text,
        "tokens": approx_tokens(exp.demo_text),
        "query_embedding": _vector(exp.query_embedding),
        "trajectory_embedding": _vector(exp.trajectory_embedding),
        "judge_kind": exp.judge_kind,
        "judge_verdict": exp.judge_verdict,
        "model": exp.model,
        "embedder_id": exp.embedder_id,
        "source_task_id": exp.source_task_id,
        "final_answer": exp.final_answer,
        "created_at": created,
        "times_recalled": exp.times_recalled,
        "times_in_success": exp.times_in_success,
        "recorder": exp.recorder,
        "status": exp.status,
        "status_reason": exp.status_reason,
    }


def _vector(values: list[float] | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values, np.float32)


def row_to_experience(row: dict[str, Any]) -> Experience:
    """The Experience of a stored row (the inverse of `experience_row`; vectors when the row has them)."""
    data = dict(row)
    for key in ("seq", "template", "norm_task", "tokens"):
        data.pop(key, None)
    data["steps"] = [Step.model_validate(s) for s in json.loads(data["steps"])]
    data["tool_chain"] = json.loads(data["tool_chain"])
    for key in ("query_embedding", "trajectory_embedding"):
        if key in data and data[key] is not None:
            data[key] = [float(x) for x in data[key]]
    return Experience.model_validate(data)


def build_experience(
    task: str,
    steps: list[Step],
    intent: str,
    intent_source: str,
    *,
    final_answer: str = "",
    judge_kind: str = "unknown",
    judge_verdict: str = "",
    model: str | None = None,
    source_task_id: str | None = None,
    embedder_id: str = "",
    ident: str | None = None,
) -> Experience:
    """An Experience (without vectors) from a cleaned trajectory."""
    return Experience(
        id=ident or new_id(),
        task=task,
        intent=intent,
        intent_source=intent_source,  # type: ignore[arg-type]
        steps=steps,
        tool_chain=[s.tool for s in steps],
        demo_text=render_demo(task, steps),
        judge_kind=judge_kind,
        judge_verdict=judge_verdict,
        model=model,
        embedder_id=embedder_id,
        source_task_id=source_task_id,
        final_answer=final_answer,
        created_at=datetime.now(UTC),
    )


def is_duplicate(query_cos: np.ndarray, same_text: np.ndarray, threshold: float) -> np.ndarray:
    """Near-identical task: query cosine ≥ threshold or equal normalised text (same template assumed)."""
    return (query_cos >= threshold) | same_text


def find_duplicates(
    mirror: Mirror, exps: Sequence[Experience], qvecs: np.ndarray, task_hashes: Sequence[int],
    threshold: float, near: NearSlots | None = None,
) -> list[str | None]:
    """The id of an experience each record duplicates (same template, near-identical task), else None. An
    active record is compared with active experiences; a held or quarantined one only with its own
    recorder's, so it neither absorbs nor is absorbed by others' work. ``task_hashes``: the hashes of the
    records' normalised tasks, compared with the mirror's (`PoolStore.text_hashes`), so no table is
    scanned. Records with the same template and peers share one gather of their candidates' vectors and
    one matrix product (a template can hold thousands of experiences).

    ``near`` (the pool's ANN): for a template of more than `NEAR_SCAN_MAX` peers, the same normalised task
    is still found among all of them (by hash), but the query cosine is computed only for the peers among
    the record's approximate nearest neighbours: a near-duplicate (cosine >= 0.97) is among those, and the
    check no longer gathers every vector of a template of 60k rows (260 ms a record at 1M rows)."""
    m = mirror
    out: list[str | None] = [None] * len(exps)
    groups: dict[tuple[str, bool, str], list[int]] = {}
    for i, exp in enumerate(exps):
        active = exp.status == "active"
        groups.setdefault((template_key(exp.intent, exp.tool_chain), active, "" if active else exp.recorder),
                          []).append(i)
    members = list(groups.values())
    slots = [_peer_slots(m, exps[group[0]]) for group in members]
    if near is not None:
        large = [len(s) > NEAR_SCAN_MAX for s in slots]
        for group, where, big in zip(members, slots, large, strict=True):
            if big:
                for i in group:
                    out[i] = _near_duplicate(m, where, near(exps[i], qvecs[i]), qvecs[i], task_hashes[i],
                                             threshold)
        members = [g for g, big in zip(members, large, strict=True) if not big]
        slots = [s for s, big in zip(slots, large, strict=True) if not big]
    for group, where, cos in zip(members, slots, _cosines(m, slots, members, qvecs), strict=True):
        hashes = m.task_hash[where]
        for j, i in enumerate(group):
            hits = where[is_duplicate(cos[:, j], hashes == np.uint64(task_hashes[i]), threshold)]
            out[i] = m.ids[int(hits[0])] if len(hits) else None
    return out


def _near_duplicate(m: Mirror, peers: np.ndarray, near: np.ndarray, qvec: np.ndarray, task_hash: int,
                    threshold: float) -> str | None:
    """`find_duplicates` of one record, with the cosine computed only for the ``peers`` among ``near``."""
    same = _same_task(m, peers, task_hash)
    close = np.intersect1d(peers, near, assume_unique=True)
    close = close[m.vec["query"][close] @ qvec >= threshold] if len(close) else close
    hits = np.union1d(same, close)
    return m.ids[int(hits[0])] if len(hits) else None


def _cosines(m: Mirror, slots: Sequence[np.ndarray], members: Sequence[list[int]], qvecs: np.ndarray
             ) -> list[np.ndarray]:
    """Query cosines of each group's candidate slots with its members' vectors, (slots, members) each.
    Few candidates: gathered per group. Candidates from many groups (a batch of records of many
    templates): one product with every row, in chunks, costs less than copying most of the matrix."""
    if sum(len(s) for s in slots) * 2 <= m.n:
        return [m.vec["query"][s] @ qvecs[g].T for s, g in zip(slots, members, strict=True)]
    out = [np.empty((len(s), len(g)), np.float32) for s, g in zip(slots, members, strict=True)]
    for start in range(0, m.n, COSINE_CHUNK):
        stop = min(start + COSINE_CHUNK, m.n)
        block = m.vec["query"][start:stop] @ qvecs.T  # (rows, all records)
        for s, g, o in zip(slots, members, out, strict=True):
            lo, hi = np.searchsorted(s, [start, stop])
            o[lo:hi] = block[s[lo:hi] - start][:, g]
    return out


def find_same_task(mirror: Mirror, exp: Experience, task_hash: int) -> str | None:
    """The id of an experience with ``exp``'s template and normalised task (hash ``task_hash``) among the
    peers `find_duplicates` compares with, else None: the duplicate test of a record not embedded yet."""
    hits = _same_task(mirror, _peer_slots(mirror, exp), task_hash)
    return mirror.ids[int(hits[0])] if len(hits) else None


def _same_task(m: Mirror, slots: np.ndarray, task_hash: int) -> np.ndarray:
    """The ``slots`` whose normalised task has the hash ``task_hash``."""
    return slots[m.task_hash[slots] == np.uint64(task_hash)]


def _peer_slots(m: Mirror, exp: Experience) -> np.ndarray:
    """Live slots of ``exp``'s template that it may merge with (active ones, or its own recorder's)."""
    code = m.templates.get(template_key(exp.intent, exp.tool_chain))
    if code < 0:
        return np.zeros(0, np.int64)
    n = m.n
    peers = m.active[:n] if exp.status == "active" else m.recorder[:n] == m.recorders.get(exp.recorder)
    return np.flatnonzero((m.template[:n] == code) & m.alive[:n] & peers)


def merges(
    mirror: Mirror, slots: Sequence[int], rows: Mapping[str, dict[str, Any]], threshold: float
) -> list[tuple[int, int]]:
    """(duplicate slot, slot it merges into) within one template group. Slots are walked from the most
    useful (times_in_success, then oldest); each is kept unless its query cosine to a kept one reaches
    ``threshold`` or its normalised task equals that one's. ``rows``: the stored rows by id."""
    order = sorted(slots, key=lambda s: (-rows[mirror.ids[s]]["times_in_success"], int(mirror.seq[s])))
    kept: list[int] = []
    out: list[tuple[int, int]] = []
    for s in order:
        norm_task = rows[mirror.ids[s]]["norm_task"]
        for k in kept:
            cos = float(mirror.vec["query"][s] @ mirror.vec["query"][k])
            if cos >= threshold or norm_task == rows[mirror.ids[k]]["norm_task"]:
                out.append((s, k))
                break
        else:
            kept.append(s)
    return out
