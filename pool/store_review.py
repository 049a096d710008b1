"""The review and statistics queries of a pool file (provenance: who recorded what, statuses, standing
quarantines, counts), a mixin of `seer.pool.store.PoolStore`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import duckdb


class ReviewQueries:
    """Provenance and statistics reads (and status changes) of a `PoolStore` (a mixin: it uses the store's
    connection, lock and write transaction)."""

    _con: duckdb.DuckDBPyConnection
    lock: threading.RLock

    def _write(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError

    @staticmethod
    def _where(ids: Sequence[str] | None, recorder: str | None, status: str | None) -> tuple[str, list[Any]]:
        clauses, params = ["TRUE"], []
        for clause, value in (("id IN (SELECT unnest(?::VARCHAR[]))", None if ids is None else list(ids)),
                              ("recorder = ?", recorder), ("status = ?", status)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return " AND ".join(clauses), params

    def find_ids(
        self, *, ids: Sequence[str] | None = None, recorder: str | None = None, status: str | None = None
    ) -> list[str]:
        """Ids of the experiences matching every given filter (None: any), in seq order."""
        where, params = self._where(ids, recorder, status)
        with self.lock:
            rows = self._con.execute(f"SELECT id FROM experiences WHERE {where} ORDER BY seq",
                                     params).fetchall()
        return [str(r[0]) for r in rows]

    def listing(
        self, *, recorder: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Rows (without vectors or steps) matching the filters, newest first, at most ``limit``."""
        where, params = self._where(None, recorder, status)
        cols = ("id", "intent", "recorder", "judge_kind", "status", "status_reason", "created_at", "task",
                "final_answer", "times_recalled")
        with self.lock:
            cur = self._con.execute(
                f"SELECT {', '.join(cols)} FROM experiences WHERE {where} "
                f"ORDER BY seq DESC LIMIT {int(limit)}",
                params,
            )
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def set_status(
        self,
        ids: Sequence[str],
        status: str,
        reason: str,
        *,
        quarantine_recorder: str | None = None,
        release_recorder: str | None = None,
    ) -> None:
        """Set the status of experiences and, in the same transaction, put a recorder under standing
        quarantine (its future records too) or lift it."""
        with self._write() as con:
            if ids:
                con.execute(
                    "UPDATE experiences SET status = ?, status_reason = ? "
                    "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                    [status, reason, list(ids)],
                )
            if quarantine_recorder is not None:
                con.execute(
                    "INSERT OR REPLACE INTO quarantined_recorders VALUES (?, ?, ?)",
                    [quarantine_recorder, reason, datetime.now(UTC).replace(tzinfo=None)],
                )
            if release_recorder is not None:
                con.execute("DELETE FROM quarantined_recorders WHERE recorder = ?", [release_recorder])

    def quarantined_recorders(self) -> dict[str, str]:
        """Recorders under standing quarantine, with the reason."""
        with self.lock:
            rows = self._con.execute("SELECT recorder, reason FROM quarantined_recorders").fetchall()
        return {str(r): str(why or "") for r, why in rows}

    def counts_per_status(self) -> dict[str, int]:
        """Number of experiences of each status."""
        return self._counts("status")

    def counts_per_intent(self) -> dict[str, int]:
        """Number of experiences of each intent, by intent name."""
        return self._counts("intent")

    def counted_rows(self) -> str:
        raise NotImplementedError

    def _counts(self, column: str) -> dict[str, int]:
        with self.lock:
            rows = self._con.execute(
                f"SELECT {column}, count(*) FROM {self.counted_rows()} GROUP BY {column} ORDER BY {column}"
            ).fetchall()
        return {str(k): int(v) for k, v in rows}

    def usage_totals(self) -> tuple[int, int, int]:
        """(experiences, sum of times_recalled, sum of times_in_success); pending records count too."""
        with self.lock:
            tot = self._con.execute(
                "SELECT count(*), coalesce(sum(times_recalled),0), coalesce(sum(times_in_success),0) "
                f"FROM {self.counted_rows()}"
            ).fetchone()
        assert tot is not None
        return int(tot[0]), int(tot[1]), int(tot[2])
