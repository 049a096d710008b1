"""`ExperiencePool`: a named pool = DuckDB store + in-memory mirror (+ ANN) + embedder; recall and record."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from seer.pool import recall as R
from seer.pool.accumulate import (
    Capacity,
    build_experience,
    clean_steps,
    experience_row,
    find_duplicate,
    is_duplicate,
    merges,
    row_to_experience,
)
from seer.pool.ann import AnnIndex, AnnSettings
from seer.pool.embedders import Embedder, EmbeddingCache, embedder_from_id, load_embedder
from seer.pool.group_commit import GroupCommit
from seer.pool.home import pools_dir
from seer.pool.intent import TOOLQA_INTENTS, IntentClassifier
from seer.pool.lru import LRU
from seer.pool.mirror import Mirror, stored_columns
from seer.pool.models import (
    Experience,
    PoolError,
    RecalledExperience,
    RecallRequest,
    RecordOutcome,
    RecordRequest,
)
from seer.pool.moderation import Moderation
from seer.pool.persisted import PoolFiles
from seer.pool.render import normalise_task, question_overlap, render_demo, render_steps, template_key
from seer.pool.screen import rule_names, screen_record
from seer.pool.snapshot import VectorSnapshot
from seer.pool.store import PoolStore
from seer.pool.trust import LOCAL, TrustPolicy, recall_mask
from seer.pool.writer import WriteBehind

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ANN_THRESHOLD = 20_000
GROUP_WAIT_S = 0.005  # a group commit waits this long at most for records other callers are preparing
GOAL_CACHE_SIZE = 1024  # results of `goal` recalls (they do not depend on the steps so far)
DISPLAY_CACHE_SIZE = 4096  # task / intent / demo_text / tool_chain of recently recalled experiences


@dataclass
class _Pending:
    """A record waiting for its group commit: the experience (vectors set), its query vector, the ids it
    credits and the screening rules it matched."""

    exp: Experience
    vector: np.ndarray
    credit: Sequence[str]
    rules: list[str]


def pool_path(name_or_path: str | Path) -> tuple[Path, str]:
    """(file, label) of a pool name (under pools_dir()) or an explicit path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith(".duckdb"):
        path = Path(name_or_path).expanduser()
        return path, path.stem
    if not _NAME.match(text):
        raise PoolError(f"invalid pool name {text!r}: use letters, digits, '_', '-', '.'")
    return pools_dir() / f"{text}.duckdb", text


class ExperiencePool(PoolFiles, Moderation):
    """One named experience pool. Thread-safe: one instance serves many concurrent MCP clients."""

    def __init__(
        self,
        store: PoolStore,
        embedder: Embedder,
        *,
        intent_labels: Mapping[str, str | Sequence[str]] | None,
        capacity: Capacity,
        ann_threshold: int,
        persist_ann: bool,
        ann: AnnSettings | None = None,
        vector_copy: bool = True,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.capacity = capacity
        self.ann_threshold = ann_threshold
        self.persist_ann = persist_ann
        self.ann_settings = ann or AnnSettings()
        self._snapshot = VectorSnapshot(store.path.with_name(store.path.name + ".vectors"), store.dim) \
            if vector_copy else None
        self.opened_from: str = ""  # where the mirror's vectors came from: "vector copy" or "database"
        # how the index came to be on open: "built", or "loaded" with the rows caught up / removed
        self.ann_origin: dict[str, Any] = {}
        self._ann_saved_at = time.monotonic()
        self.lock = threading.RLock()
        self.classifier = IntentClassifier(embedder, intent_labels) if intent_labels else None
        self._writer = WriteBehind(store, after_flush=self._persist)
        self._commits: GroupCommit[_Pending, RecordOutcome] = GroupCommit(self._commit_records,
                                                                          max_wait_s=GROUP_WAIT_S)
        # a cheap embedder (hash) is faster than a database lookup: keep only the in-memory LRU then
        cheap = bool(getattr(embedder, "cheap", False))
        self.cache = EmbeddingCache(
            embedder,
            load=None if cheap else store.cache_load,
            save=None if cheap else self._writer.queue_cache,
        )
        self.mirror = Mirror(store.dim)
        self.ann: AnnIndex | None = None
        self._goal_cache: LRU[str, list[RecalledExperience]] = LRU(GOAL_CACHE_SIZE)
        self._display: LRU[int, dict[str, Any]] = LRU(DISPLAY_CACHE_SIZE)
        self._quarantined = store.quarantined_recorders()
        self._load()
        self._writer.start()

    # --------------------------------------------------------------- lifecycle
    @classmethod
    def open(
        cls,
        name_or_path: str | Path,
        embedder: Embedder | None = None,
        *,
        create: bool = True,
        intent_labels: Mapping[str, str | Sequence[str]] | None = TOOLQA_INTENTS,
        capacity: Capacity | None = None,
        ann_threshold: int = ANN_THRESHOLD,
        persist_ann: bool = True,
        ann: AnnSettings | None = None,
        vector_copy: bool = True,
        migrate_upto: int | None = None,
    ) -> ExperiencePool:
        """Open or create a pool. Without an embedder: the pool's own (existing) or the offline MiniLM.
        ``ann``: candidate budget and graph settings of the ANN path (used above ``ann_threshold`` rows);
        ``vector_copy``: keep a memory-mappable copy of the vectors next to the file (fast opening)."""
        path, label = pool_path(name_or_path)
        if embedder is None and path.exists() and path.stat().st_size > 0:
            meta = PoolStore.inspect(path, label)
            embedder = embedder_from_id(meta["embedder_id"])
        if embedder is None:
            embedder = load_embedder("default")
        store = PoolStore.open(
            path, embedder.id, embedder.dim, label=label, create=create, migrate_upto=migrate_upto
        )
        if store.dim != embedder.dim:
            store.close()
            raise PoolError(
                f"pool {label} stores {store.dim}-d vectors, embedder {embedder.id} gives {embedder.dim}-d"
            )
        return cls(
            store,
            embedder,
            intent_labels=intent_labels,
            capacity=capacity or Capacity(),
            ann_threshold=ann_threshold,
            persist_ann=persist_ann,
            ann=ann,
            vector_copy=vector_copy,
        )

    @classmethod
    def create(cls, name_or_path: str | Path, embedder: Embedder, **kwargs: Any) -> ExperiencePool:
        """Create a new pool (an existing one is opened if the embedder matches); keywords as `open`."""
        return cls.open(name_or_path, embedder, create=True, **kwargs)

    def _append_mirror(self, cols: dict[str, Any], *, index: bool = True) -> None:
        slots = self.mirror.append_stored(cols)
        if index and self.ann is not None:
            self.ann.add(self.mirror, slots)
        elif index:
            self._maybe_build_ann()

    def flush(self) -> None:
        """Write pending usage counters and cached embeddings now."""
        self._writer.flush()

    def close(self) -> None:
        """Flush pending writes, persist the ANN index and close the file."""
        self._writer.stop()
        self._append_copy()
        self.save_ann()
        self.store.close()
        with self.lock:  # release the (possibly GBs of) mirror and index memory
            self.mirror = Mirror(self.store.dim)
            self.ann = None
            self._display.clear()
            self._goal_cache.clear()

    def __enter__(self) -> ExperiencePool:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _seqs_of(self, ids: Sequence[str]) -> list[int]:
        """Seqs of the ids still in the pool, in order (repeats kept)."""
        with self.lock:
            slot_of_id, seq = self.mirror.slot_of_id, self.mirror.seq
            return [int(seq[slot_of_id[i]]) for i in ids if i in slot_of_id]

    # ------------------------------------------------------------------ recall
    def infer_intent(self, task: str) -> str | None:
        """Intent label of a task from the embedding classifier (None without labels)."""
        if self.classifier is None:
            return None
        return self.classifier.classify_vectors(self.cache.embed([task]))[0]

    def recall(self, request: RecallRequest, policy: TrustPolicy | None = None) -> list[RecalledExperience]:
        """Top-k active demonstrations for the next step (Algorithm 1), each with score, s1, s2, s3, among
        the recorders and judges both the request and the operator's ``policy`` allow."""
        if request.k == 0 or self.mirror.live == 0:
            return []
        intent = request.intent if request.intent is not None else self.infer_intent(request.task)
        req = request if intent == request.intent else request.model_copy(update={"intent": intent})
        if req.same_intent and self.mirror.intents.get(intent) < 0:
            return []  # no experience of this intent: recall nothing rather than another domain's
        goal_key = self._goal_key(req, policy)
        with self.lock:
            hit = self._goal_cache.get(goal_key) if goal_key is not None else None
        if hit is not None:
            self._count_recalled([r.id for r in hit])
            return list(hit)
        qplan = R.plan(req)
        vectors = self.cache.embed(qplan.texts)
        goal_vector = vectors[1] if len(vectors) > 1 else None
        # with a question-type filter, rank a wider set and keep the k whose questions pass it
        wide = req if req.min_overlap is None else req.model_copy(update={"k": max(16, 4 * req.k)})
        with self.lock:
            m = self.mirror
            allowed = recall_mask(m, req, policy)
            scored, positions = R.recall_slots(m, self._recall_ann(), wide, qplan, vectors[0], goal_vector,
                                               allowed)
            chosen = [int(scored.slots[p]) for p in positions]
            ids = [m.ids[s] for s in chosen]
            seqs = [int(m.seq[s]) for s in chosen]
        results = R.results(wide, scored, positions, ids, seqs, self._display_rows(seqs))
        if req.min_overlap is not None:
            results = [r for r in results if question_overlap(req.task, r.task) >= req.min_overlap][: req.k]
        if goal_key is not None:
            with self.lock:
                self._goal_cache.put(goal_key, results)
        self._count_recalled([r.id for r in results])
        return results

    def _goal_key(self, request: RecallRequest, policy: TrustPolicy | None) -> str | None:
        """Cache key of a `goal` recall (the steps so far do not matter) until the pool changes; else None."""
        if request.strategy != "goal":
            return None
        return (request.model_dump_json(exclude={"steps_so_far"}) + repr(policy)
                + str(self.store.meta.get("generation")))

    def _display_rows(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """task/intent/demo_text/tool_chain by seq: an in-memory LRU, then the copy's memory-mapped texts,
        then indexed point lookups (rows written since the copy's last append)."""
        out: dict[int, dict[str, Any]] = {}
        with self.lock:
            for seq in seqs:
                hit = self._display.get(seq)
                if hit is not None:
                    out[seq] = hit
        missing = [s for s in seqs if s not in out]
        if missing and self._snapshot is not None:
            out.update(self._snapshot.display(missing))  # the copy's memory-mapped texts
            missing = [s for s in missing if s not in out]
        if missing:
            fetched = self.store.display_rows(missing)
            with self.lock:
                for seq, row in fetched.items():
                    self._display.put(seq, row)
            out.update(fetched)
        return out

    def _count_recalled(self, ids: Sequence[str]) -> None:
        self._writer.count_recalled(self._seqs_of(ids))

    # ------------------------------------------------------------------ record
    def record(
        self, request: RecordRequest, *, recorder: str = LOCAL, hold: str | None = None
    ) -> RecordOutcome:
        """Store a successful trajectory (Algorithm 2) with dedup and capacity; credit recalled ids.

        ``recorder`` is stored as its provenance. The record is stored *held* (not recalled until an admin
        releases it) when its text matches a screening rule or ``hold`` gives a reason (the server's hold
        policy), and *quarantined* when its recorder is; held records credit no one."""
        if not request.success:
            return RecordOutcome(
                stored=False, reason="not successful: only successful trajectories are stored"
            )
        with self._commits.coming():  # a batch being committed waits briefly for this record
            return self._record(request, recorder, hold)

    def _record(self, request: RecordRequest, recorder: str, hold: str | None) -> RecordOutcome:
        steps = clean_steps(request.steps)
        if not steps:
            return RecordOutcome(stored=False, reason="no successful tool step to learn from")
        findings = screen_record(request.task, steps, request.final_answer)
        status, why = self._status_for(recorder, findings, hold)
        vectors = self.cache.embed([request.task, render_steps(steps)])
        intent, source = request.intent, request.intent_source or "caller"
        if intent is None:
            if self.classifier is None:
                raise PoolError("record needs an intent: this pool has no intent labels to infer one")
            intent, source = self.classifier.classify_vectors(vectors[:1])[0], "inferred"
        exp = build_experience(
            request.task,
            steps,
            intent,
            source,
            final_answer=request.final_answer,
            judge_kind=request.judge,
            judge_verdict=request.judge_verdict,
            model=request.model,
            source_task_id=request.source_task_id,
            embedder_id=self.embedder.id,
        )
        exp.query_embedding = vectors[0].tolist()
        exp.trajectory_embedding = vectors[1].tolist()
        exp.recorder, exp.status, exp.status_reason = recorder, status, why
        credit = request.recalled_ids if status == "active" else []
        rules = rule_names(findings)
        return self._commits.submit(_Pending(exp, vectors[0], credit, rules))

    def _commit_records(self, batch: Sequence[_Pending]) -> list[RecordOutcome]:
        """Group commit of concurrent records: dedup each against the pool and the batch's earlier ones,
        then ONE transaction inserts the rest and credits every recalled id; capacity applies after."""
        with self.lock:
            kept: list[_Pending] = []
            merged: dict[int, str] = {}
            credit: Counter[int] = Counter()
            hashes = self.store.text_hashes([normalise_task(item.exp.task) for item in batch])
            for i, item in enumerate(batch):
                dup = find_duplicate(self.mirror, item.exp, item.vector, int(hashes[i]),
                                     self.capacity.dedup_cosine) or self._batch_duplicate(item, kept)
                seqs = self._seqs_of(item.credit)
                if dup is not None:  # as before group commit: a duplicate credits each recalled id it names
                    merged[i] = dup
                    credit.update(seqs)
                else:  # a stored record credits each distinct recalled id once
                    kept.append(item)
                    credit.update(set(seqs))
            self._insert([item.exp for item in kept], credit=credit)
            evicted: set[str] = set()
            budget = self.capacity.max_evict_per_write * max(len(kept), 1)
            for intent in dict.fromkeys(item.exp.intent for item in kept):
                out = self._enforce_capacity(intent, budget)
                evicted.update(out)
                budget -= len(out)
        outcomes = []
        for i, item in enumerate(batch):
            exp, status = item.exp, item.exp.status
            if i in merged:
                outcomes.append(RecordOutcome(
                    stored=False, id=None, merged_into=merged[i], status=status, rules=item.rules,
                    reason=f"duplicate of {merged[i]} (same intent, tool chain and task)"))
            elif exp.id in evicted:
                outcomes.append(RecordOutcome(stored=False, reason="evicted at once: pool is full",
                                              status=status, rules=item.rules))
            else:
                reason = "stored"
                if status != "active":
                    reason = (f"stored {status}: not recalled until an admin releases it; "
                              f"{exp.status_reason}")
                reason += f"; evicted {len(evicted)} least useful" if evicted else ""
                outcomes.append(RecordOutcome(stored=True, id=exp.id, reason=reason, status=status,
                                              rules=item.rules))
        return outcomes

    def _batch_duplicate(self, item: _Pending, kept: Sequence[_Pending]) -> str | None:
        """The id of an earlier record of the same batch that ``item`` duplicates (as `find_duplicate`)."""
        exp = item.exp
        template, task = template_key(exp.intent, exp.tool_chain), normalise_task(exp.task)
        for other in kept:
            o = other.exp
            peers = (o.status == "active") if exp.status == "active" else (o.recorder == exp.recorder)
            if not peers or template_key(o.intent, o.tool_chain) != template:
                continue
            cos = np.array([float(item.vector @ other.vector)])
            if is_duplicate(cos, np.array([normalise_task(o.task) == task]), self.capacity.dedup_cosine)[0]:
                return o.id
        return None

    def _insert(self, exps: Sequence[Experience], credit: Mapping[int, int] | None = None) -> None:
        """Insert experiences (vectors set) in one transaction that also credits recalled experiences
        (times_in_success + count, by seq), then extend the mirror."""
        if not exps and not credit:
            return
        with self.lock:
            rows = self.store.insert_rows([experience_row(e) for e in exps], credit=credit or {})
            if rows:
                self._append_mirror(stored_columns(rows))
            self._goal_cache.clear()

    def _enforce_capacity(self, intent: str | None = None, budget: int | None = None) -> list[str]:
        """Evict least useful (not active first, lowest times_in_success, then oldest) above the
        per-intent/global limits; at most ``budget`` rows (None: all the excess)."""
        evicted: list[str] = []
        m = self.mirror
        intents = [intent] if intent is not None else list(m.intents.names)
        left = budget if budget is not None else 2**62
        for name in intents:
            code = m.intents.get(name)
            count = int(((m.intent[: m.n] == code) & m.alive[: m.n]).sum())
            excess = min(count - self.capacity.per_intent, left)
            if excess > 0:
                evicted += self._evict(name, excess)
                left -= excess
        excess = min(m.live - self.capacity.total, left)
        if excess > 0:
            evicted += self._evict(None, excess)
        return evicted

    def _evict(self, intent: str | None, n: int) -> list[str]:
        with self.lock:
            ids = self.store.evict_least_useful(intent, n)
            self._drop_from_memory(ids)
        return ids

    def forget(self, experience_id: str) -> bool:
        """Delete one experience; False when the id is unknown."""
        with self.lock:
            if experience_id not in self.mirror.slot_of_id:
                return False
            self._delete([experience_id])
            return True

    def _delete(self, ids: Sequence[str]) -> None:
        with self.lock:
            self.store.delete(ids)
            self._drop_from_memory(ids)

    def _drop_from_memory(self, ids: Sequence[str]) -> None:
        """Remove deleted experiences from the mirror, the ANN index and the caches."""
        if not ids:
            return
        with self.lock:
            slots = [self.mirror.slot_of_id[i] for i in ids if i in self.mirror.slot_of_id]
            for slot in slots:
                self._display.pop(int(self.mirror.seq[slot]))
            if self.ann is not None:
                self.ann.remove(self.mirror, slots)
            self.mirror.remove(slots)
            if self.mirror.compactable():
                self.mirror.compact()
            self._goal_cache.clear()

    # ------------------------------------------------------------- bulk / admin
    def add_experiences(self, exps: Sequence[Experience]) -> list[str]:
        """Insert experiences in ONE transaction (all or nothing); embeds missing vectors; skips known ids.
        Demonstration text is rendered here from the steps (never taken from a file), and active ones that
        match a screening rule are stored held."""
        fresh = [e for e in exps if e.id not in self.mirror.slot_of_id]
        for e in fresh:
            if e.steps:
                e.demo_text = render_demo(e.task, e.steps)
            findings = screen_record(e.task, e.steps, e.final_answer) if e.status == "active" else []
            if findings:
                e.status, e.status_reason = self._status_for(e.recorder, findings, None)
        need = [e for e in fresh if e.query_embedding is None or e.trajectory_embedding is None]
        if need:
            vecs = self.cache.embed([t for e in need for t in (e.task, render_steps(e.steps))])
            for i, e in enumerate(need):
                e.query_embedding = vecs[2 * i].tolist()
                e.trajectory_embedding = vecs[2 * i + 1].tolist()
        for e in fresh:
            if (
                len(e.query_embedding or []) != self.store.dim
                or len(e.trajectory_embedding or []) != self.store.dim
            ):
                raise PoolError(f"experience {e.id}: vectors must have {self.store.dim} dimensions")
            e.embedder_id = self.embedder.id
        if fresh:
            self._insert(fresh)
        return [e.id for e in fresh]

    def bulk_insert(self, cols: dict[str, Any]) -> None:
        """Fast path for bulk loads: numpy columns (rows.COLUMNS minus seq), one transaction. The mirror is
        sized for the rows first (no growth copies) and their vectors are copied to the vector copy and
        mapped at once (a bulk load never holds more than one batch of vectors in memory)."""
        with self.lock:
            self.mirror.reserve(self.mirror.n + len(cols["id"]))
            self._append_mirror(self.store.insert_columns(cols))
            self._append_copy()
            self._goal_cache.clear()

    def get(self, experience_id: str, *, vectors: bool = False) -> Experience | None:
        """One stored experience by id."""
        row = self.store.row(experience_id, vectors=vectors)
        return row_to_experience(row) if row is not None else None

    def experiences(self, *, vectors: bool = False, batch: int = 1000) -> Iterator[Experience]:
        """All stored experiences in insertion order."""
        last = -1
        while True:
            rows = self.store.rows_after(last, limit=batch, vectors=vectors)
            if not rows:
                return
            for row in rows:
                yield row_to_experience(row)
            last = rows[-1]["seq"]

    def count(self) -> int:
        """Number of stored experiences."""
        return self.mirror.live

    def prune(self) -> dict[str, int]:
        """Merge duplicates (keep the most useful, sum its stats) and apply capacity limits."""
        self.flush()
        merged = 0
        with self.lock:
            m = self.mirror
            groups: dict[tuple[int, bool], list[int]] = {}  # never merge across statuses
            for slot in np.flatnonzero(m.alive[: m.n]):
                groups.setdefault((int(m.template[slot]), bool(m.active[slot])), []).append(int(slot))
            drop: list[str] = []
            for slots in groups.values():
                if len(slots) < 2:
                    continue
                rows = {r["id"]: r for r in self.store.rows_by_ids([m.ids[s] for s in slots])}
                for dup, into in merges(m, slots, rows, self.capacity.dedup_cosine):
                    row = rows[m.ids[dup]]
                    self.store.add_times_recalled({int(m.seq[into]): row["times_recalled"]})
                    self.store.add_times_in_success({int(m.seq[into]): row["times_in_success"]})
                    drop.append(m.ids[dup])
            merged = len(drop)
            self._delete(drop)
            evicted = self._enforce_capacity()
        return {"merged": merged, "evicted": len(evicted), "count": self.mirror.live}
