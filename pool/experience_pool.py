"""`ExperiencePool`: a named pool = DuckDB store + in-memory mirror (+ ANN) + embedder; recall and record."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from seer.pool import recall as R
from seer.pool.accumulate import Capacity, build_experience, clean_steps, experience_row, is_duplicate
from seer.pool.embedders import Embedder, EmbeddingCache, embedder_from_id, load_embedder
from seer.pool.home import pools_dir
from seer.pool.intent import TOOLQA_INTENTS, IntentClassifier
from seer.pool.mirror import AnnIndex, Mirror
from seer.pool.models import (
    Experience,
    PoolError,
    PoolStats,
    RecalledExperience,
    RecallRequest,
    RecordOutcome,
    RecordRequest,
    Step,
)
from seer.pool.render import normalise_task, template_key
from seer.pool.store import PoolStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ANN_THRESHOLD = 20_000


def pool_path(name_or_path: str | Path) -> tuple[Path, str]:
    """(file, label) of a pool name (under pools_dir()) or an explicit path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith(".duckdb"):
        path = Path(name_or_path).expanduser()
        return path, path.stem
    if not _NAME.match(text):
        raise PoolError(f"invalid pool name {text!r}: use letters, digits, '_', '-', '.'")
    return pools_dir() / f"{text}.duckdb", text


class _Writer(threading.Thread):
    """Write-behind of usage counters and new cache embeddings, batched off the recall path."""

    def __init__(self, store: PoolStore, interval: float = 0.5) -> None:
        super().__init__(name=f"seer-pool-writer-{store.label}", daemon=True)
        self.store = store
        self.interval = interval
        self.lock = threading.Lock()
        self.recalled: Counter[int] = Counter()
        self.cache: dict[str, np.ndarray] = {}
        self.stop_event = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self.lock:
            recalled, self.recalled = self.recalled, Counter()
            cache, self.cache = self.cache, {}
        try:
            self.store.add_counts("times_recalled", dict(recalled))
            self.store.cache_save(cache)
        except Exception as exc:  # kept for close(); recall must not fail on statistics
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join()
        self.flush()


class ExperiencePool:
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
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.capacity = capacity
        self.ann_threshold = ann_threshold
        self.persist_ann = persist_ann
        self.lock = threading.RLock()
        self.classifier = IntentClassifier(embedder, intent_labels) if intent_labels else None
        self._writer = _Writer(store)
        # a cheap embedder (hash) is faster than a database lookup: keep only the in-memory LRU then
        cheap = bool(getattr(embedder, "cheap", False))
        self.cache = EmbeddingCache(
            embedder, load=None if cheap else store.cache_load, save=None if cheap else self._queue_cache
        )
        self.mirror = Mirror(store.dim)
        self.ann: AnnIndex | None = None
        self._goal_cache: OrderedDict[str, list[RecalledExperience]] = OrderedDict()
        self._display: OrderedDict[int, dict[str, Any]] = OrderedDict()
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
        migrate_upto: int | None = None,
    ) -> ExperiencePool:
        """Open or create a pool. Without an embedder: the pool's own (existing) or the offline MiniLM."""
        path, label = pool_path(name_or_path)
        if embedder is None and path.exists() and path.stat().st_size > 0:
            meta = PoolStore._inspect(path, label)
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
        )

    @classmethod
    def create(cls, name_or_path: str | Path, embedder: Embedder, **kwargs: Any) -> ExperiencePool:
        """Create a new pool (an existing one is opened if the embedder matches)."""
        path, label = pool_path(name_or_path)
        store = PoolStore.open(
            path,
            embedder.id,
            embedder.dim,
            label=label,
            create=True,
            migrate_upto=kwargs.pop("migrate_upto", None),
        )
        return cls(
            store,
            embedder,
            intent_labels=kwargs.pop("intent_labels", TOOLQA_INTENTS),
            capacity=kwargs.pop("capacity", None) or Capacity(),
            ann_threshold=kwargs.pop("ann_threshold", ANN_THRESHOLD),
            persist_ann=kwargs.pop("persist_ann", True),
        )

    @property
    def name(self) -> str:
        return self.store.label

    @property
    def path(self) -> Path:
        return self.store.path

    def _ann_folder(self) -> Path:
        return self.path.with_name(self.path.name + ".ann")

    def _ann_stamp(self) -> dict[str, Any]:
        return {
            "generation": self.store.meta.get("generation"),
            "n": self.mirror.live,
            "embedder": self.store.embedder_id,
        }

    def _load(self) -> None:
        self.mirror = Mirror(self.store.dim)
        self.mirror.reserve(self.store.count())
        for cols in self.store.load_mirror():
            self._append_mirror(cols, index=False)
        self.ann = None
        self._maybe_build_ann()

    def _append_mirror(self, cols: dict[str, Any], *, index: bool = True) -> None:
        slots = self.mirror.append(
            {
                "seq": cols["seq"],
                "id": cols["id"],
                "intent": cols["intent"],
                "tool_chain": [json.loads(c) if isinstance(c, str) else list(c) for c in cols["tool_chain"]],
                "template": cols["template"],
                "source_task_id": cols["source_task_id"],
                "tokens": cols["tokens"],
                "seed": np.asarray(cols["judge_kind"]) == "seed",
                "query": cols["query_embedding"],
                "trajectory": cols["trajectory_embedding"],
            }
        )
        if index and self.ann is not None:
            self.ann.add(self.mirror, slots)
        elif index:
            self._maybe_build_ann()

    def _maybe_build_ann(self) -> None:
        if self.ann is not None or self.mirror.live < self.ann_threshold:
            return
        if self.persist_ann:
            self.ann = AnnIndex.load(self._ann_folder(), self._ann_stamp(), self.store.dim)
            if self.ann is not None:
                return
        ann = AnnIndex(self.store.dim)
        ann.add(self.mirror, np.flatnonzero(self.mirror.alive[: self.mirror.n]))
        self.ann = ann

    def save_ann(self) -> None:
        """Persist the ANN index next to the pool file (reloaded on open while the pool is unchanged)."""
        with self.lock:
            if self.ann is not None and self.persist_ann:
                self.ann.save(self._ann_folder(), self._ann_stamp())

    def flush(self) -> None:
        """Write pending usage counters and cached embeddings now."""
        self._writer.flush()

    def close(self) -> None:
        """Flush pending writes, persist the ANN index and close the file."""
        self._writer.stop()
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

    def _queue_cache(self, items: dict[str, np.ndarray]) -> None:
        with self._writer.lock:
            self._writer.cache.update(items)

    # ------------------------------------------------------------------ recall
    def infer_intent(self, task: str) -> str | None:
        """Intent label of a task from the embedding classifier (None without labels)."""
        if self.classifier is None:
            return None
        return self.classifier.classify_vectors(self.cache.embed([task]))[0]

    def recall(self, request: RecallRequest) -> list[RecalledExperience]:
        """Top-k demonstrations for the next step (Algorithm 1), each with score, s1, s2, s3."""
        if request.k == 0 or self.mirror.live == 0:
            return []
        intent = request.intent if request.intent is not None else self.infer_intent(request.task)
        req = request if intent == request.intent else request.model_copy(update={"intent": intent})
        if req.same_intent and self.mirror.intents.get(intent) < 0:
            return []  # no experience of this intent: recall nothing rather than another domain's
        goal_key = None
        if req.strategy == "goal":
            goal_key = req.model_dump_json(exclude={"steps_so_far"}) + str(self.store.meta.get("generation"))
            hit = self._goal_cache.get(goal_key)
            if hit is not None:
                self._count_recalled([r.id for r in hit])
                return list(hit)
        qplan = R.plan(req)
        texts = [qplan.text] if qplan.goal_text is None else [qplan.text, qplan.goal_text]
        vectors = self.cache.embed(texts)
        vector, goal_vector = vectors[0], (vectors[1] if len(texts) > 1 else None)
        with self.lock:
            m = self.mirror
            intent_code = m.intents.get(intent)
            mode = "ranked"
            if req.strategy in ("static", "random"):
                pool_slots = None
                if req.strategy == "static":  # the first seeds of the task's intent, like a per-domain prompt
                    seeds = m.alive[: m.n] & m.seed[: m.n]
                    same = seeds & (m.intent[: m.n] == intent_code) if intent_code is not None else seeds
                    pool_slots = np.flatnonzero(same if req.use_s3 and same.any() else seeds)
                    if len(pool_slots) == 0:
                        pool_slots = None
                slots = pool_slots
                mode = "fixed" if req.strategy == "static" else "random"
            else:
                slots = None
                if m.live >= self.ann_threshold:
                    self._maybe_build_ann()
                    code = intent_code if req.use_s3 else -1
                    slots = R.candidate_slots(m, self.ann, qplan, vector, req.k, code,
                                              goal_vector=goal_vector)
            scored = R.score_slots(m, slots, req, qplan, vector, intent_code, goal_vector)
            if req.same_intent:  # another domain's demonstrations must not steer the model
                scored.score[m.intent[scored.slots] != intent_code] = -np.inf
            seed = req.seed if req.seed is not None else _stable_seed(req.task)
            positions = R.select(m, scored, req, mode=mode, seed=seed)
            chosen = [int(scored.slots[p]) for p in positions]
            ids = [m.ids[s] for s in chosen]
            seqs = [int(m.seq[s]) for s in chosen]
        rows = self._display_rows(seqs)
        results = [
            RecalledExperience(
                id=ident,
                task=rows[seq]["task"],
                intent=rows[seq]["intent"],
                demo_text=rows[seq]["demo_text"],
                tool_chain=rows[seq]["tool_chain"],
                score=float(scored.score[p]),
                s1=float(scored.s1[p]),
                s2=float(scored.s2[p]),
                s3=float(scored.s3[p]),
            )
            for ident, seq, p in zip(ids, seqs, positions, strict=True)
            if seq in rows
        ]
        if req.order == "shuffled":
            results = R.shuffle(results, seed)
        if goal_key is not None:
            with self.lock:
                self._goal_cache[goal_key] = results
                while len(self._goal_cache) > 1024:
                    self._goal_cache.popitem(last=False)
        self._count_recalled([r.id for r in results])
        return results

    def _display_rows(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """task/intent/demo_text/tool_chain by seq: an in-memory LRU in front of indexed point lookups."""
        out: dict[int, dict[str, Any]] = {}
        with self.lock:
            for seq in seqs:
                hit = self._display.get(seq)
                if hit is not None:
                    self._display.move_to_end(seq)
                    out[seq] = hit
        missing = [s for s in seqs if s not in out]
        if missing:
            with self.store.lock:
                fetched = self.store.con.execute(
                    "SELECT seq, task, intent, demo_text, tool_chain FROM experiences WHERE seq IN ("
                    + ", ".join("?" for _ in missing)
                    + ")",
                    missing,
                ).fetchall()
            with self.lock:
                for seq, task, intent, demo, chain in fetched:
                    row = {"task": task, "intent": intent, "demo_text": demo, "tool_chain": json.loads(chain)}
                    out[int(seq)] = self._display[int(seq)] = row
                while len(self._display) > 4096:
                    self._display.popitem(last=False)
        return out

    def _count_recalled(self, ids: Sequence[str]) -> None:
        with self.lock:
            seqs = [
                int(self.mirror.seq[self.mirror.slot_of_id[i]]) for i in ids if i in self.mirror.slot_of_id
            ]
        with self._writer.lock:
            self._writer.recalled.update(seqs)

    # ------------------------------------------------------------------ record
    def record(self, request: RecordRequest) -> RecordOutcome:
        """Store a successful trajectory (Algorithm 2) with dedup and capacity; credit recalled ids."""
        if not request.success:
            self._credit(request.recalled_ids, success=False)
            return RecordOutcome(
                stored=False, reason="not successful: only successful trajectories are stored"
            )
        steps = clean_steps(request.steps)
        if not steps:
            return RecordOutcome(stored=False, reason="no successful tool step to learn from")
        vectors = self.cache.embed([request.task, _steps_text(steps)])
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
        self.flush()
        with self.lock:
            dup = self._find_duplicate(exp, vectors[0])
            if dup is not None:
                self._credit(request.recalled_ids, success=True)
                return RecordOutcome(
                    stored=False,
                    id=None,
                    merged_into=dup,
                    reason=f"duplicate of {dup} (same intent, tool chain and task)",
                )
            self._insert([exp], credit=request.recalled_ids)
            evicted = self._enforce_capacity(intent)
        reason = "stored" + (f"; evicted {len(evicted)} least useful" if evicted else "")
        return RecordOutcome(
            stored=exp.id not in evicted,
            id=exp.id if exp.id not in evicted else None,
            reason=reason if exp.id not in evicted else "evicted at once: pool is full",
        )

    def _credit(self, recalled_ids: Sequence[str], *, success: bool) -> None:
        """times_in_success += 1 for experiences recalled in a later success."""
        if not success or not recalled_ids:
            return
        with self.lock:
            seqs = Counter(
                int(self.mirror.seq[self.mirror.slot_of_id[i]])
                for i in recalled_ids
                if i in self.mirror.slot_of_id
            )
        self.store.add_counts("times_in_success", dict(seqs))

    def _find_duplicate(self, exp: Experience, qvec: np.ndarray) -> str | None:
        m = self.mirror
        code = m.templates.get(template_key(exp.intent, exp.tool_chain))
        if code < 0:
            return None
        slots = np.flatnonzero((m.template[: m.n] == code) & m.alive[: m.n])
        if len(slots) == 0:
            return None
        cos = m.vec["query"][slots] @ qvec
        same = self.store.fetch(
            "template = ? AND norm_task = ?",
            [template_key(exp.intent, exp.tool_chain), normalise_task(exp.task)],
        )
        same_ids = {r["id"] for r in same}
        same_text = np.array([m.ids[s] in same_ids for s in slots])
        hits = slots[is_duplicate(cos, same_text, self.capacity.dedup_cosine)]
        return m.ids[int(hits[0])] if len(hits) else None

    def _insert(self, exps: Sequence[Experience], credit: Sequence[str] = ()) -> None:
        """Insert experiences (vectors set) in one transaction, then extend the mirror."""
        with self.lock:
            with self.store.transaction() as con:
                first = self.store.reserve_seqs(con, len(exps))
                rows = [experience_row(e, first + i) for i, e in enumerate(exps)]
                self.store.insert_rows(con, rows)
                seqs = Counter(
                    int(self.mirror.seq[self.mirror.slot_of_id[i]])
                    for i in credit
                    if i in self.mirror.slot_of_id
                )
                if seqs:
                    con.execute(
                        "UPDATE experiences SET times_in_success = times_in_success + 1 "
                        "WHERE seq IN (SELECT unnest(?::BIGINT[]))",
                        [list(seqs)],
                    )
            self._append_rows(rows)

    def _append_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        cols = {
            "seq": np.array([r["seq"] for r in rows], np.int64),
            "id": [r["id"] for r in rows],
            "intent": [r["intent"] for r in rows],
            "tool_chain": [r["tool_chain"] for r in rows],
            "template": [r["template"] for r in rows],
            "source_task_id": [r["source_task_id"] for r in rows],
            "tokens": np.array([r["tokens"] for r in rows]),
            "judge_kind": [r["judge_kind"] for r in rows],
            "query_embedding": np.stack([r["query_embedding"] for r in rows]),
            "trajectory_embedding": np.stack([r["trajectory_embedding"] for r in rows]),
        }
        self._append_mirror(cols)
        self._goal_cache.clear()

    def _enforce_capacity(self, intent: str | None = None) -> list[str]:
        """Evict least useful (lowest times_in_success, then oldest) above the per-intent/global limits."""
        evicted: list[str] = []
        m = self.mirror
        intents = [intent] if intent is not None else list(m.intents.names)
        for name in intents:
            code = m.intents.get(name)
            count = int(((m.intent[: m.n] == code) & m.alive[: m.n]).sum())
            excess = count - self.capacity.per_intent
            if excess > 0:
                evicted += self._evict("intent = ?", [name], excess)
        excess = m.live - self.capacity.total
        if excess > 0:
            evicted += self._evict("TRUE", [], excess)
        return evicted

    def _evict(self, where: str, params: list[Any], n: int) -> list[str]:
        with self.store.lock:
            rows = self.store.con.execute(
                f"SELECT id FROM experiences WHERE {where} "
                "ORDER BY times_in_success ASC, created_at ASC, seq ASC "
                f"LIMIT {int(n)}",
                params,
            ).fetchall()
        ids = [r[0] for r in rows]
        self._delete(ids)
        return ids

    def forget(self, experience_id: str) -> bool:
        """Delete one experience; False when the id is unknown."""
        with self.lock:
            if experience_id not in self.mirror.slot_of_id:
                return False
            self._delete([experience_id])
            return True

    def _delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self.lock:
            with self.store.transaction() as con:
                con.execute("DELETE FROM experiences WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])
            slots = [self.mirror.slot_of_id[i] for i in ids if i in self.mirror.slot_of_id]
            for slot in slots:
                self._display.pop(int(self.mirror.seq[slot]), None)
            if self.ann is not None:
                self.ann.remove(self.mirror, slots)
            self.mirror.remove(slots)
            if self.mirror.n > 1024 and self.mirror.live < self.mirror.n * 0.75:
                self.mirror.compact()
            self._goal_cache.clear()

    # ------------------------------------------------------------- bulk / admin
    def add_experiences(self, exps: Sequence[Experience]) -> list[str]:
        """Insert experiences in ONE transaction (all or nothing); embeds missing vectors; skips known ids."""
        fresh = [e for e in exps if e.id not in self.mirror.slot_of_id]
        need = [e for e in fresh if e.query_embedding is None or e.trajectory_embedding is None]
        if need:
            vecs = self.cache.embed([t for e in need for t in (e.task, _steps_text(e.steps))])
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
        """Fast path for bulk loads: numpy columns (store.COLUMNS minus seq), one transaction."""
        n = len(cols["id"])
        with self.lock:
            with self.store.transaction() as con:
                first = self.store.reserve_seqs(con, n)
                cols = dict(cols, seq=np.arange(first, first + n, dtype=np.int64))
                self.store.insert_columns(con, cols)
            self._append_mirror(cols)
            self._goal_cache.clear()

    def get(self, experience_id: str, *, vectors: bool = False) -> Experience | None:
        """One stored experience by id."""
        rows = self.store.fetch("id = ?", [experience_id], vectors=vectors)
        return _row_to_experience(rows[0]) if rows else None

    def experiences(self, *, vectors: bool = False, batch: int = 1000) -> Iterator[Experience]:
        """All stored experiences in insertion order."""
        last = -1
        while True:
            rows = self.store.fetch("seq > ?", [last], vectors=vectors, limit=batch)
            if not rows:
                return
            for row in rows:
                yield _row_to_experience(row)
            last = rows[-1]["seq"]

    def count(self) -> int:
        """Number of stored experiences."""
        return self.mirror.live

    def stats(self) -> dict[str, Any]:
        """Counts ("count", "per_intent") and usage totals as a JSON-ready dict."""
        return self.stats_model().model_dump()

    def stats_model(self) -> PoolStats:
        """Counts per intent and usage totals."""
        self.flush()
        with self.store.lock:
            per = dict(
                self.store.con.execute(
                    "SELECT intent, count(*) FROM experiences GROUP BY intent ORDER BY intent"
                ).fetchall()
            )
            tot = self.store.con.execute(
                "SELECT count(*), coalesce(sum(times_recalled),0), coalesce(sum(times_in_success),0) "
                "FROM experiences"
            ).fetchone()
        assert tot is not None
        return PoolStats(
            name=self.name,
            path=str(self.path),
            count=int(tot[0]),
            per_intent={str(k): int(v) for k, v in per.items()},
            embedder_id=self.store.embedder_id,
            dim=self.store.dim,
            schema_version=self.store.schema_version,
            times_recalled=int(tot[1]),
            times_in_success=int(tot[2]),
        )

    def prune(self) -> dict[str, int]:
        """Merge duplicates (keep the most useful, sum its stats) and apply capacity limits."""
        self.flush()
        merged = 0
        with self.lock:
            m = self.mirror
            groups: dict[int, list[int]] = {}
            for slot in np.flatnonzero(m.alive[: m.n]):
                groups.setdefault(int(m.template[slot]), []).append(int(slot))
            drop: list[str] = []
            for slots in groups.values():
                if len(slots) < 2:
                    continue
                ids = [m.ids[s] for s in slots]
                rows = {r["id"]: r for r in self.store.fetch("id IN (SELECT unnest(?::VARCHAR[]))", [ids])}
                order = sorted(slots, key=lambda s: (-rows[m.ids[s]]["times_in_success"], int(m.seq[s])))
                kept: list[int] = []
                for s in order:
                    row = rows[m.ids[s]]
                    for k in kept:
                        krow = rows[m.ids[k]]
                        cos = float(m.vec["query"][s] @ m.vec["query"][k])
                        if cos >= self.capacity.dedup_cosine or row["norm_task"] == krow["norm_task"]:
                            self.store.add_counts("times_recalled", {int(m.seq[k]): row["times_recalled"]})
                            self.store.add_counts(
                                "times_in_success", {int(m.seq[k]): row["times_in_success"]}
                            )
                            drop.append(m.ids[s])
                            break
                    else:
                        kept.append(s)
            merged = len(drop)
            self._delete(drop)
            evicted = self._enforce_capacity()
        return {"merged": merged, "evicted": len(evicted), "count": self.mirror.live}


def _steps_text(steps: Sequence[Step]) -> str:
    from seer.pool.render import render_steps

    return render_steps(steps)


def _stable_seed(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _row_to_experience(row: dict[str, Any]) -> Experience:
    data = dict(row)
    for key in ("seq", "template", "norm_task", "tokens"):
        data.pop(key, None)
    data["steps"] = [Step.model_validate(s) for s in json.loads(data["steps"])]
    data["tool_chain"] = json.loads(data["tool_chain"])
    for key in ("query_embedding", "trajectory_embedding"):
        if key in data and data[key] is not None:
            data[key] = [float(x) for x in data[key]]
    return Experience.model_validate(data)
