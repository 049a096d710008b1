"""Review of a shared pool: statistics, the status of new records, listing experiences by recorder and
status, quarantine, release and purge.

Statuses: ``active`` (recalled), ``held`` (waiting for review: screened as instruction-like, or judged
only by the client itself under the server's hold policy) and ``quarantined`` (an admin's decision).
Quarantining a *recorder* is a standing decision: its later records are quarantined too, until released.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seer.pool.lru import LRU
from seer.pool.mirror import Mirror
from seer.pool.models import PoolError, PoolStats, RecalledExperience, Status
from seer.pool.screen import Finding, describe, screen_stored
from seer.pool.store import PoolStore

SETTLE_S = 60.0  # an admin action waits this long at most for pending records to be embedded


class Moderation:
    """The review operations of an :class:`~seer.pool.experience_pool.ExperiencePool` (a mixin: it uses
    the pool's store, mirror, lock and caches)."""

    store: PoolStore
    mirror: Mirror
    lock: threading.RLock
    _goal_cache: LRU[str, list[RecalledExperience]]
    _quarantined: dict[str, str]

    def _delete(self, ids: Sequence[str]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def settle(self, timeout_s: float | None = None) -> bool:
        raise NotImplementedError

    def pending(self) -> int:
        raise NotImplementedError

    def pending_lag_ms(self) -> dict[str, float]:
        raise NotImplementedError

    def merged_after_ack(self) -> int:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.store.label

    @property
    def path(self) -> Path:
        return self.store.path

    def stats(self) -> dict[str, Any]:
        """Counts ("count", "per_intent", "per_status") and usage totals as a JSON-ready dict."""
        return self.stats_model().model_dump()

    def stats_model(self) -> PoolStats:
        """Counts per intent and status, and usage totals."""
        self.flush()
        with self.store.lock:  # one consistent snapshot of all
            per_intent = self.store.counts_per_intent()
            per_status = self.store.counts_per_status()
            count, times_recalled, times_in_success = self.store.usage_totals()
        return PoolStats(
            name=self.name,
            path=str(self.path),
            count=count,
            per_intent=per_intent,
            embedder_id=self.store.embedder_id,
            dim=self.store.dim,
            schema_version=self.store.schema_version,
            times_recalled=times_recalled,
            times_in_success=times_in_success,
            per_status=per_status,
            pending=self.pending(),
            pending_lag_ms=self.pending_lag_ms(),
            merged_after_ack=self.merged_after_ack(),
        )

    def _status_for(self, recorder: str, findings: Sequence[Finding], hold: str | None) -> tuple[Status, str]:
        """(status, why) of a new record: its recorder's standing quarantine, screening, then ``hold``."""
        with self.lock:
            quarantined = self._quarantined.get(recorder)
        if quarantined is not None:
            return "quarantined", f"recorder {recorder!r} is quarantined ({quarantined or 'by an admin'})"
        if findings:
            return "held", f"instruction-like text (screening rules: {describe(findings)})"
        if hold:
            return "held", hold
        return "active", ""

    def list_experiences(
        self, *, recorder: str | None = None, status: Status | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Experiences (id, intent, recorder, judge, status and why, task, answer, ...) newest first."""
        return self.store.listing(recorder=recorder, status=status, limit=limit)

    def quarantined_recorders(self) -> dict[str, str]:
        """Recorders under standing quarantine, with the reason."""
        with self.lock:
            return dict(self._quarantined)

    def _targets(self, recorder: str | None, experience_id: str | None) -> list[str]:
        if (recorder is None) == (experience_id is None):
            raise PoolError("name exactly one of a recorder or an experience id")
        self.settle(SETTLE_S)  # a pending record becomes an experience an admin can act on
        ids = self.store.find_ids(ids=None if experience_id is None else [experience_id], recorder=recorder)
        if experience_id is not None and not self.store.find_ids(ids=[experience_id]):
            raise PoolError(f"no experience with id {experience_id!r}")
        return ids

    def _set_status(self, ids: Sequence[str], status: Status, reason: str, **recorder_change: str) -> None:
        with self.lock:
            self.store.set_status(ids, status, reason, **recorder_change)
            self.mirror.set_active(ids, status == "active")
            self._goal_cache.clear()
            self._quarantined = self.store.quarantined_recorders()

    def quarantine(
        self, *, recorder: str | None = None, experience_id: str | None = None, reason: str = ""
    ) -> list[str]:
        """Quarantine one experience, or every experience of a recorder and its future records; returns
        the ids whose status changed."""
        why = reason or ("recorder quarantined by an admin" if recorder else "quarantined by an admin")
        with self.lock:
            ids = self._changing(self._targets(recorder, experience_id), "quarantined")
            change = {"quarantine_recorder": recorder} if recorder is not None else {}
            self._set_status(ids, "quarantined", why, **change)
        return ids

    def _changing(self, ids: list[str], status: Status) -> list[str]:
        """The ids among ``ids`` whose status is not ``status`` yet."""
        already = set(self.store.find_ids(ids=ids, status=status)) if ids else set()
        return [i for i in ids if i not in already]

    def release(self, *, recorder: str | None = None, experience_id: str | None = None) -> list[str]:
        """Make held or quarantined experiences active (recalled again) — one, or all of a recorder, whose
        standing quarantine is lifted too; returns the ids released."""
        with self.lock:
            ids = self._changing(self._targets(recorder, experience_id), "active")
            change = {"release_recorder": recorder} if recorder is not None else {}
            self._set_status(ids, "active", "released by an admin", **change)
        return ids

    def screen(self, *, hold: bool = False, batch: int = 2000) -> list[dict[str, str]]:
        """Screen every active experience with today's rules, e.g. after a migration from a pool that
        predates screening; with ``hold``, hold those that match. Returns ``{id, recorder, task, why}`` per
        match; a row whose steps cannot be read matches too (it could not be screened)."""
        self.flush()
        found: list[dict[str, str]] = []
        last = 0
        while rows := self.store.rows_after(last, limit=batch):
            last = int(rows[-1]["seq"])
            for row in rows:
                if row["status"] != "active":
                    continue
                why = screen_stored(row["task"], row["steps"], row["final_answer"])
                if why:
                    found.append({"id": str(row["id"]), "recorder": str(row["recorder"]),
                                  "task": str(row["task"]), "why": why})
        if hold:
            for item in found:
                self._set_status([item["id"]], "held", f"{item['why']}; held by a screen of the pool")
        return found

    def purge(self, recorder: str, status: Status | None = None) -> list[str]:
        """Delete every experience of a recorder (only those with ``status``, if given); returns their ids."""
        self.settle(SETTLE_S)
        with self.lock:
            ids = self.store.find_ids(recorder=recorder, status=status)
            self._delete(ids)
        return ids
