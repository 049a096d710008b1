"""`ExperiencePool`: a named pool = DuckDB store + in-memory mirror (+ ANN) + embedder; recall and record."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from seer.pool import recall as R
from seer.pool.accumulate import (
    Capacity,
    experience_row,
    merges,
    row_to_experience,
)
from seer.pool.ann import AnnIndex, AnnSettings
from seer.pool.deferred import EmbedQueue, Queued
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
)
from seer.pool.moderation import Moderation
from seer.pool.persisted import PoolFiles
from seer.pool.recording import Recording, _Pending
from seer.pool.render import question_overlap, render_demo, render_steps
from seer.pool.screen import screen_record
from seer.pool.snapshot import VectorSnapshot
from seer.pool.store import PoolStore
from seer.pool.trust import TrustPolicy, recall_mask
from seer.pool.writer import WriteBehind

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ANN_THRESHOLD = 20_000
GROUP_WAIT_S = 0.005  # a group commit waits this long at most for records other callers are preparing
GOAL_CACHE_SIZE = 1024  # results of `goal` recalls (they do not depend on the steps so far)
DISPLAY_CACHE_SIZE = 4096  # task / intent / demo_text / tool_chain of recently recalled experiences


def pool_path(name_or_path: str | Path) -> tuple[Path, str]:
    """(file, label) of a pool name (under pools_dir()) or an explicit path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith(".duckdb"):
        path = Path(name_or_path).expanduser()
        return path, path.stem
    if not _NAME.match(text):
        raise PoolError(f"invalid pool name {text!r}: use letters, digits, '_', '-', '.'")
    return pools_dir() / f"{text}.duckdb", text


class ExperiencePool(PoolFiles, Moderation, Recording):
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
        defer_embedding: bool = False,
    ) -> None:
        self.store = store
        self.defer_embedding = defer_embedding
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
        self._ann_save_s = 0.0  # duration of the last full save of the index
        self.lock = threading.RLock()
        self.classifier = IntentClassifier(embedder, intent_labels) if intent_labels else None
        self._writer = WriteBehind(store, after_flush=self._persist)
        self._commits: GroupCommit[_Pending, RecordOutcome] = GroupCommit(self._commit_records,
                                                                          max_wait_s=GROUP_WAIT_S)
        self._acks: GroupCommit[_Pending, RecordOutcome] = GroupCommit(self._commit_acks,
                                                                       max_wait_s=GROUP_WAIT_S)
        copy = getattr(embedder, "worker_copy", None)
        self._worker_embedder: Embedder | None = copy() if copy is not None else None
        self._queue = EmbedQueue(store.label, self._publish, warm=self._warm_worker)
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
        self._load_pending()
        self._writer.start()
        self._queue.start()  # also publishes records left pending by an earlier process

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
        defer_embedding: bool = False,
    ) -> ExperiencePool:
        """Open or create a pool. Without an embedder: the pool's own (existing) or the offline MiniLM.
        ``ann``: candidate budget and graph settings of the ANN path (used above ``ann_threshold`` rows);
        ``vector_copy``: keep a memory-mappable copy of the vectors next to the file (fast opening);
        ``defer_embedding``: acknowledge a record once committed with its texts and embed it afterwards
        (`seer.pool.deferred`; it is recalled from then on)."""
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
            defer_embedding=defer_embedding,
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
        """Flush pending writes, persist the ANN index and close the file. Records still waiting for their
        embedding stay in the file and are embedded after the next open."""
        self._queue.stop()
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
        if req.same_intent and self.mirror.intents.get(intent) < 0:  # no experience of this intent
            if req.fallback == "nothing":
                return []  # recall nothing rather than another domain's
            req = req.model_copy(update={"same_intent": False, "min_overlap": None})
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
        if not results and req.same_intent and req.fallback == "other_intents":
            return self.recall(req.model_copy(update={"same_intent": False, "min_overlap": None,
                                                      "other_intents": True, "fallback": "nothing"}), policy)
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

    def _insert(self, exps: Sequence[Experience], credit: Mapping[int, int] | None = None,
                unqueue: Sequence[str] = ()) -> None:
        """Insert experiences (vectors set) in one transaction that also credits recalled experiences
        (times_in_success + count, by seq) and removes ``unqueue`` from the pending records, then extend
        the mirror."""
        if not exps and not credit and not unqueue:
            return
        with self.lock:
            rows = self.store.insert_rows([experience_row(e) for e in exps], credit=credit or {},
                                          unqueue=unqueue)
            if rows:
                self._append_mirror(stored_columns(rows))
            self._goal_cache.clear()

    def forget(self, experience_id: str) -> bool:
        """Delete one experience (or a pending record); False when the id is unknown."""
        with self.lock:
            if self._queue.get(experience_id) is not None:
                self.store.delete_pending([experience_id])
                self._queue.remove([experience_id])
                return True
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
        """One stored experience by id (a pending record too: without vectors until it is embedded)."""
        row = self.store.row(experience_id, vectors=vectors)
        if row is not None:
            return row_to_experience(row)
        queued = self._queue.get(experience_id)
        return queued.exp.model_copy(deep=True) if queued is not None else None

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
        """Number of stored experiences, pending records included."""
        return self.mirror.live + len(self._queue)

    def pending(self) -> int:
        """Number of records stored but not embedded yet (not recalled until they are)."""
        return len(self._queue)

    def _warm_worker(self) -> None:
        """Load the worker's model copy in the background when records will be deferred."""
        if self.defer_embedding and self._worker_embedder is not None:
            self._worker_embedder.embed(["warm up"])

    def settle(self, timeout_s: float | None = None) -> bool:
        """Wait until every pending record is published (recallable) or merged; False on timeout."""
        return self._queue.settle(timeout_s)

    def merged_after_ack(self) -> int:
        """Records acknowledged as stored and merged into a near-duplicate once embedded, since open."""
        return self._queue.merged

    def pending_lag_ms(self) -> dict[str, float]:
        """Acknowledgement-to-recallable lag of the recently published records: p50, p99, max (ms)."""
        return self._queue.lag_ms()

    def _load_pending(self) -> None:
        """Queue the records an earlier process acknowledged and did not embed."""
        rows = self.store.pending_rows()
        if not rows:
            return
        hashes = self.store.text_hashes([str(row["norm_task"]) for row in rows])
        now = time.monotonic()
        self._queue.add(Queued(row_to_experience(row), int(h), now)
                        for row, h in zip(rows, hashes, strict=True))

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
