"""Recording (Algorithm 2): a successful trajectory stored with dedup and capacity, acknowledged only after
its transaction committed. Concurrent records share one transaction (group commit).

Two paths. By default a record is embedded before it is committed, and is recallable when acknowledged.
A pool that defers embedding (`seer.pool.deferred`) commits the record with its texts to the pending
queue and acknowledges it at once; its worker embeds the queue in batches and publishes the records
(recallable from then on). The deferred path catches duplicates of the same normalised task when it
acknowledges, and near-duplicates (query cosine) when it publishes: such a record is then merged away
although it was acknowledged as stored.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from seer.pool.accumulate import (
    Capacity,
    NearSlots,
    build_experience,
    clean_steps,
    experience_row,
    find_duplicates,
    find_same_task,
    is_duplicate,
)
from seer.pool.ann import AnnIndex
from seer.pool.deferred import EmbedQueue, Queued
from seer.pool.embedders import Embedder, EmbeddingCache
from seer.pool.group_commit import GroupCommit
from seer.pool.intent import IntentClassifier
from seer.pool.mirror import Mirror
from seer.pool.models import Experience, PoolError, RecordOutcome, RecordRequest, Status
from seer.pool.render import normalise_task, render_steps, template_key
from seer.pool.rows import PENDING_COLUMNS
from seer.pool.screen import Finding, rule_names, screen_record
from seer.pool.store import PoolStore
from seer.pool.trust import LOCAL

NEAR_CANDIDATES = 64  # ANN neighbours a record of a large template is compared with (dedup)
PENDING_REASON = ("stored, pending: not recalled until its texts are embedded (the pool's embedding worker, "
                  "usually within seconds); it may still merge into a near-duplicate then")


@dataclass
class _Pending:
    """A record waiting for its group commit: the experience, its query vector (None when embedding is
    deferred), the ids it credits, the screening rules it matched and its task hash (deferred path)."""

    exp: Experience
    vector: np.ndarray | None
    credit: Sequence[str]
    rules: list[str]
    task_hash: int = 0


class Recording:
    """The record path of an :class:`~seer.pool.experience_pool.ExperiencePool` (a mixin: it uses the
    pool's store, mirror, lock, caches and settings)."""

    store: PoolStore
    mirror: Mirror
    lock: threading.RLock
    embedder: Embedder
    cache: EmbeddingCache
    classifier: IntentClassifier | None
    capacity: Capacity
    defer_embedding: bool
    _worker_embedder: Embedder | None  # the worker's own copy of the model (None: share the pool's)
    _commits: GroupCommit[_Pending, RecordOutcome]
    _acks: GroupCommit[_Pending, RecordOutcome]
    _queue: EmbedQueue
    _quarantined: dict[str, str]
    ann: AnnIndex | None

    def _status_for(self, recorder: str, findings: Sequence[Finding], hold: str | None) -> tuple[Status, str]:
        raise NotImplementedError

    def _seqs_of(self, ids: Sequence[str]) -> list[int]:
        raise NotImplementedError

    def _insert(self, exps: Sequence[Experience], credit: Mapping[int, int] | None = None,
                unqueue: Sequence[str] = ()) -> None:
        raise NotImplementedError

    def _drop_from_memory(self, ids: Sequence[str]) -> None:
        raise NotImplementedError

    def record(
        self, request: RecordRequest, *, recorder: str = LOCAL, hold: str | None = None
    ) -> RecordOutcome:
        """Store a successful trajectory (Algorithm 2) with dedup and capacity; credit recalled ids.

        ``recorder`` is stored as its provenance. The record is stored *held* (not recalled until an admin
        releases it) when its text matches a screening rule or ``hold`` gives a reason (the server's hold
        policy), and *quarantined* when its recorder is; held records credit no one. When the pool defers
        embedding, the outcome says ``pending``: stored, but not recalled until embedded."""
        if not request.success:
            return RecordOutcome(
                stored=False, reason="not successful: only successful trajectories are stored"
            )
        if self.defer_embedding:
            self._queue.wait_room()
            with self._acks.coming():
                prepared = self._prepare(request, recorder, hold, embed=False)
                return prepared if isinstance(prepared, RecordOutcome) else self._acks.submit(prepared)
        with self._commits.coming():  # a batch being committed waits briefly for this record
            prepared = self._prepare(request, recorder, hold, embed=True)
            return prepared if isinstance(prepared, RecordOutcome) else self._commits.submit(prepared)

    def _prepare(self, request: RecordRequest, recorder: str, hold: str | None, *, embed: bool
                 ) -> _Pending | RecordOutcome:
        """The experience of a request (with its vectors when ``embed``), or why it is not stored. Without an
        intent the classifier needs the question's vector, so the question is embedded either way."""
        steps = clean_steps(request.steps)
        if not steps:
            return RecordOutcome(stored=False, reason="no successful tool step to learn from")
        findings = screen_record(request.task, steps, request.final_answer)
        status, why = self._status_for(recorder, findings, hold)
        vectors = self.cache.embed([request.task, render_steps(steps)]) if embed else None
        intent, source = request.intent, request.intent_source or "caller"
        if intent is None:
            if self.classifier is None:
                raise PoolError("record needs an intent: this pool has no intent labels to infer one")
            question = vectors[:1] if vectors is not None else self.cache.embed([request.task])
            intent, source = self.classifier.classify_vectors(question)[0], "inferred"
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
        if vectors is not None:
            exp.query_embedding = vectors[0].tolist()
            exp.trajectory_embedding = vectors[1].tolist()
        exp.recorder, exp.status, exp.status_reason = recorder, status, why
        credit = request.recalled_ids if status == "active" else []
        return _Pending(exp, vectors[0] if vectors is not None else None, credit, rule_names(findings))

    # ------------------------------------------------------- embedded first
    def _commit_records(self, batch: Sequence[_Pending]) -> list[RecordOutcome]:
        """Group commit of concurrent records: dedup each against the pool and the batch's earlier ones,
        then ONE transaction inserts the rest and credits every recalled id; capacity applies after."""
        with self.lock:
            kept: list[_Pending] = []
            merged: dict[int, str] = {}
            credit: Counter[int] = Counter()
            hashes = self.store.text_hashes([normalise_task(item.exp.task) for item in batch])
            known = find_duplicates(self.mirror, [item.exp for item in batch],
                                    np.stack([item.vector for item in batch if item.vector is not None]),
                                    [int(h) for h in hashes], self.capacity.dedup_cosine, self._near_slots())
            for i, item in enumerate(batch):
                dup = known[i] or self._batch_duplicate(item, kept)
                self._credit(credit, item, merged=dup is not None)
                if dup is not None:
                    merged[i] = dup
                else:
                    kept.append(item)
            self._insert([item.exp for item in kept], credit=credit)
            evicted = self._apply_capacity([item.exp for item in kept])
        return [self._outcome(item, merged.get(i), evicted) for i, item in enumerate(batch)]

    def _near_slots(self) -> NearSlots | None:
        """The ANN's near neighbours of a record's query vector within its intent (dedup of large
        templates, `find_duplicates`), or None without an index (every peer is then compared exactly)."""
        ann, mirror = self.ann, self.mirror
        if ann is None or len(ann) == 0:
            return None

        def near(exp: Experience, qvec: np.ndarray) -> np.ndarray:
            seqs = ann.candidates("query", qvec, NEAR_CANDIDATES, mirror.intents.get(exp.intent))
            return mirror.slots_of_seqs(np.sort(seqs))

        return near

    def _credit(self, credit: Counter[int], item: _Pending, *, merged: bool) -> None:
        """A duplicate credits each recalled id it names (as before group commit); a stored record credits
        each distinct recalled id once."""
        seqs = self._seqs_of(item.credit)
        credit.update(seqs if merged else set(seqs))

    def _apply_capacity(self, kept: Sequence[Experience]) -> set[str]:
        """Capacity after inserting ``kept``: at most ``max_evict_per_write`` evictions per record."""
        evicted: set[str] = set()
        budget = self.capacity.max_evict_per_write * max(len(kept), 1)
        for intent in dict.fromkeys(exp.intent for exp in kept):
            out = self._enforce_capacity(intent, budget)
            evicted.update(out)
            budget -= len(out)
        return evicted

    def _outcome(self, item: _Pending, merged_into: str | None, evicted: set[str], *,
                 pending: bool = False) -> RecordOutcome:
        exp, status = item.exp, item.exp.status
        if merged_into is not None:
            return RecordOutcome(stored=False, id=None, merged_into=merged_into, status=status,
                                 rules=item.rules,
                                 reason=f"duplicate of {merged_into} (same intent, tool chain and task)")
        if exp.id in evicted:
            return RecordOutcome(stored=False, reason="evicted at once: pool is full", status=status,
                                 rules=item.rules)
        reason = PENDING_REASON if pending else "stored"
        if status != "active":
            reason += f"; {status}: not recalled until an admin releases it; {exp.status_reason}"
        reason += f"; evicted {len(evicted)} least useful" if evicted else ""
        return RecordOutcome(stored=True, id=exp.id, reason=reason, status=status, rules=item.rules,
                             pending=pending)

    def _batch_duplicate(self, item: _Pending, kept: Sequence[_Pending]) -> str | None:
        """The id of an earlier record of the same batch that ``item`` duplicates (as `find_duplicates`)."""
        exp = item.exp
        template, task = template_key(exp.intent, exp.tool_chain), normalise_task(exp.task)
        for other in kept:
            o = other.exp
            peers = (o.status == "active") if exp.status == "active" else (o.recorder == exp.recorder)
            if not peers or template_key(o.intent, o.tool_chain) != template:
                continue
            if item.vector is None or other.vector is None:  # not embedded yet: the same task only
                if normalise_task(o.task) == task:
                    return o.id
                continue
            cos = np.array([float(item.vector @ other.vector)])
            if is_duplicate(cos, np.array([normalise_task(o.task) == task]), self.capacity.dedup_cosine)[0]:
                return o.id
        return None

    # ---------------------------------------------------- deferred embedding
    def _commit_acks(self, batch: Sequence[_Pending]) -> list[RecordOutcome]:
        """Group commit of records not embedded yet: a record of the same normalised task as a stored or
        pending one merges; ONE transaction queues the rest and credits every recalled id."""
        with self.lock:
            kept: list[_Pending] = []
            merged: dict[int, str] = {}
            credit: Counter[int] = Counter()
            hashes = self.store.text_hashes([normalise_task(item.exp.task) for item in batch])
            for i, item in enumerate(batch):
                item.task_hash = int(hashes[i])
                dup = (find_same_task(self.mirror, item.exp, item.task_hash)
                       or self._queue.same_task(item.exp, item.task_hash)
                       or self._batch_duplicate(item, kept))
                self._credit(credit, item, merged=dup is not None)
                if dup is not None:
                    merged[i] = dup
                else:
                    kept.append(item)
            self.store.insert_pending([pending_row(item.exp) for item in kept], credit=credit)
            now = time.monotonic()
            self._queue.add(Queued(item.exp, item.task_hash, now) for item in kept)
        return [self._outcome(item, merged.get(i), set(), pending=True) for i, item in enumerate(batch)]

    def _publish(self, batch: list[Queued]) -> None:
        """The worker's step: embed a batch of pending records, then (one transaction) move those that are
        not near-duplicates into the pool and drop the rest from the queue; capacity applies after."""
        texts = [t for q in batch for t in (q.exp.task, render_steps(q.exp.steps))]
        if self._worker_embedder is not None:  # the model runs outside the pool's lock, on its own copy
            questions = [i % 2 == 0 for i in range(len(texts))]  # kept in the cache: recall may ask them
            vectors = self.cache.embed_with(self._worker_embedder, texts, questions)
        else:
            vectors = self.cache.embed(texts)
        with self.lock:
            if self._queue.stopping:  # the pool is closing: these stay pending in the file
                return
            live = [(i, q) for i, q in enumerate(batch) if self._queue.get(q.exp.id) is q]  # not forgotten
            for _, q in live:
                exp = q.exp
                standing = self._quarantined.get(exp.recorder)
                if standing is not None and exp.status != "quarantined":  # quarantined since acknowledged
                    exp.status = "quarantined"
                    exp.status_reason = (f"recorder {exp.recorder!r} is quarantined "
                                         f"({standing or 'by an admin'})")
            known = find_duplicates(self.mirror, [q.exp for _, q in live],
                                    vectors[[2 * i for i, _ in live]].reshape(len(live), -1),
                                    [q.task_hash for _, q in live], self.capacity.dedup_cosine,
                                    self._near_slots())
            kept: list[_Pending] = []
            for (i, q), dup in zip(live, known, strict=True):
                exp = q.exp
                item = _Pending(exp, vectors[2 * i], [], [], q.task_hash)
                if dup is not None or self._batch_duplicate(item, kept):
                    continue
                exp.query_embedding = vectors[2 * i].tolist()
                exp.trajectory_embedding = vectors[2 * i + 1].tolist()
                kept.append(item)
            ids = [q.exp.id for _, q in live]
            self._insert([item.exp for item in kept], unqueue=ids)
            published = [item.exp.id for item in kept]
            self._queue.remove(ids, published=published, merged=len(ids) - len(published))
            self._apply_capacity([item.exp for item in kept])

    # -------------------------------------------------------------- capacity
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


def pending_row(exp: Experience) -> dict[str, object]:
    """The pending_records row of an experience not embedded yet."""
    row = experience_row(exp)
    return {c: row[c] for c in PENDING_COLUMNS}
