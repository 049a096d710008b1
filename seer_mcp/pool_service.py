"""The server's view of one experience pool: opened lazily, intent inferred when the caller gives none,
the operator's trust policy applied to every recall and record."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from seer.pool import AnnSettings, ExperiencePool, RecallRequest, RecordRequest, import_file, load_embedder
from seer.pool.models import IntentSource, Status
from seer.pool.trust import LOCAL, TrustPolicy, hold_reason


class PoolService:
    """Owns the pool and the embedder for one server process (the pool file's single writer).

    The embedder (hundreds of MB) loads on first use, so a host's ``initialize`` returns at once.
    """

    def __init__(self, pool: str, embedder: str = "default", seeds: Path | None = None,
                 policy: TrustPolicy | None = None, ann: AnnSettings | None = None, *,
                 defer_embedding: bool = False):
        self.pool_name = pool
        self.embedder_name = embedder
        self.seeds = seeds
        self.policy = policy or TrustPolicy()
        self.ann = ann
        self.defer_embedding = defer_embedding
        self._pool: ExperiencePool | None = None
        self._lock = threading.Lock()

    def open(self) -> ExperiencePool:
        """Open the pool (and its embedder) if not yet open; errors name the pool file."""
        with self._lock:
            if self._pool is None:
                embedder = load_embedder(self.embedder_name)
                self._pool = ExperiencePool.open(self.pool_name, embedder=embedder, ann=self.ann,
                                                 defer_embedding=self.defer_embedding)
                if self.seeds is not None:  # seed demonstrations (the static baseline); duplicates merge
                    import_file(self._pool, self.seeds)
            return self._pool

    def resolve_intent(self, task: str, intent: str | None) -> tuple[str | None, IntentSource]:
        """(intent, source) for a task: the caller's label, else the pool's classifier (whose embedding of
        the task is cached, so the recall that follows does not embed it again)."""
        if intent:
            return intent, "caller"
        return self.open().infer_intent(task), "inferred"

    def recall(self, request: RecallRequest) -> dict[str, Any]:
        """Active demonstrations among the recorders and judges both the operator and the caller trust."""
        pool = self.open()
        intent, intent_source = self.resolve_intent(request.task, request.intent)
        results = pool.recall(request.model_copy(update={"intent": intent}), self.policy)
        return {
            "intent": intent,
            "intent_source": intent_source,
            "pool_size": pool.count(),
            "experiences": [r.model_dump() for r in results],
        }

    def record(self, request: RecordRequest, recorder: str = LOCAL, over_http: bool = False
               ) -> dict[str, Any]:
        """Store a trajectory as ``recorder``'s; the hold policy applies to records made over HTTP."""
        pool = self.open()
        intent, intent_source = self.resolve_intent(request.task, request.intent)
        hold = hold_reason(self.policy.hold, request.judge, over_http=over_http)
        outcome = pool.record(request.model_copy(update={"intent": intent, "intent_source": intent_source}),
                              recorder=recorder, hold=hold)
        return outcome.model_dump() | {"intent": intent, "pool_size": pool.count()}

    def forget(self, experience_id: str) -> bool:
        return self.open().forget(experience_id)

    def list_experiences(self, recorder: str | None, status: Status | None, limit: int) -> dict[str, Any]:
        pool = self.open()
        rows = pool.list_experiences(recorder=recorder, status=status, limit=limit)
        for row in rows:
            row["created_at"] = str(row["created_at"])
        return {"experiences": rows, "quarantined_recorders": pool.quarantined_recorders()}

    def quarantine(self, recorder: str | None, experience_id: str | None, reason: str) -> list[str]:
        return self.open().quarantine(recorder=recorder, experience_id=experience_id, reason=reason)

    def release(self, recorder: str | None, experience_id: str | None) -> list[str]:
        return self.open().release(recorder=recorder, experience_id=experience_id)

    def screen(self, hold: bool) -> list[dict[str, str]]:
        return self.open().screen(hold=hold)

    def stats(self) -> dict[str, Any]:
        return self.open().stats()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
