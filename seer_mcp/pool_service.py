"""The server's view of one experience pool: opened lazily, intent inferred when the caller gives none."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seer.pool import (
    ExperiencePool,
    IntentClassifier,
    RecallRequest,
    RecordRequest,
    Step,
    import_file,
    load_embedder,
)
from seer.pool.models import IntentSource, Order, Strategy


class PoolService:
    """Owns the pool and the embedder for one server process (the pool file's single writer).

    The embedder (hundreds of MB) loads on first use, so a host's ``initialize`` returns at once.
    """

    def __init__(self, pool: str, embedder: str = "default", seeds: Path | None = None):
        self.pool_name = pool
        self.embedder_name = embedder
        self.seeds = seeds
        self._pool: ExperiencePool | None = None
        self._intents: IntentClassifier | None = None
        self._lock = threading.Lock()

    def open(self) -> ExperiencePool:
        """Open the pool (and its embedder) if not yet open; errors name the pool file."""
        with self._lock:
            if self._pool is None:
                embedder = load_embedder(self.embedder_name)
                self._pool = ExperiencePool.open(self.pool_name, embedder=embedder)
                self._intents = IntentClassifier(embedder)
                if self.seeds is not None:  # seed demonstrations (the static baseline); duplicates merge
                    import_file(self._pool, self.seeds)
            return self._pool

    def resolve_intent(self, task: str, intent: str | None) -> tuple[str, IntentSource]:
        """(intent, source) for a task: the caller's label, else the embedding classifier's."""
        if intent:
            return intent, "caller"
        self.open()
        assert self._intents is not None
        return self._intents.classify(task)[0], "inferred"

    def recall(
        self,
        *,
        task: str,
        steps_so_far: list[dict[str, Any]],
        intent: str | None,
        k: int,
        strategy: Strategy,
        terms: Sequence[str] | None,
        exclude_task_id: str | None,
        max_per_template: int | None,
        token_budget: int | None,
        order: Order,
        same_intent: bool = False,
    ) -> dict[str, Any]:
        pool = self.open()
        intent, intent_source = self.resolve_intent(task, intent)
        use = set(terms) if terms is not None else {"s1", "s2", "s3"}
        request = RecallRequest(
            task=task,
            steps_so_far=[Step(**s) for s in steps_so_far],
            intent=intent,
            k=k,
            strategy=strategy,
            use_s1="s1" in use,
            use_s2="s2" in use,
            use_s3="s3" in use,
            exclude_task_id=exclude_task_id,
            max_per_template=max_per_template,
            token_budget=token_budget,
            order=order,
            same_intent=same_intent,
        )
        results = pool.recall(request)
        return {
            "intent": intent,
            "intent_source": intent_source,
            "pool_size": pool.count(),
            "experiences": [r.model_dump() for r in results],
        }

    def record(
        self,
        *,
        task: str,
        steps: list[dict[str, Any]],
        final_answer: str,
        success: bool,
        judge: str,
        intent: str | None,
        model: str | None,
        source_task_id: str | None,
        recalled_ids: list[str],
    ) -> dict[str, Any]:
        pool = self.open()
        intent, intent_source = self.resolve_intent(task, intent)
        outcome = pool.record(
            RecordRequest(
                task=task,
                steps=[Step(**s) for s in steps],
                final_answer=final_answer,
                success=success,
                judge=judge,
                intent=intent,
                intent_source=intent_source,
                model=model,
                source_task_id=source_task_id,
                recalled_ids=recalled_ids,
            )
        )
        return outcome.model_dump() | {"intent": intent, "pool_size": pool.count()}

    def forget(self, experience_id: str) -> bool:
        return self.open().forget(experience_id)

    def stats(self) -> dict[str, Any]:
        return self.open().stats()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
