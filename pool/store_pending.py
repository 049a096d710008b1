"""The queue of records acknowledged before they were embedded (table ``pending_records``), a mixin of
`seer.pool.store.PoolStore`: a pending row is committed with its texts (so a crash loses no acknowledged
record), and moved into ``experiences`` with its vectors and a seq in the same transaction that removes it
from the queue (`PoolStore.insert_rows` with ``unqueue``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import duckdb

from seer.pool.rows import PENDING_COLUMNS

PENDING_SCHEMA = 6  # the schema version that made the table (migration 0006_pending_records)


class PendingQueries:
    """SQL of the pending-records queue (a mixin: it uses the store's connection, lock and write
    transaction)."""

    _con: duckdb.DuckDBPyConnection
    lock: threading.RLock

    def _write(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError

    def _credit_in(self, con: duckdb.DuckDBPyConnection, credit: Mapping[int, int]) -> None:
        raise NotImplementedError

    @property
    def schema_version(self) -> int:
        raise NotImplementedError

    def has_pending_table(self) -> bool:
        """Whether the file has the queue (schema 6 on; a file opened at an older schema has none)."""
        return self.schema_version >= PENDING_SCHEMA

    def insert_pending(self, rows: Sequence[dict[str, Any]], *, credit: Mapping[int, int] | None = None
                       ) -> None:
        """Commit rows (PENDING_COLUMNS) to the queue in one transaction that also adds ``credit[seq]``
        to times_in_success of each credited experience."""
        with self._write() as con:
            if rows:
                placeholders = "(" + ", ".join("?" for _ in PENDING_COLUMNS) + ")"
                con.execute(
                    f"INSERT INTO pending_records ({', '.join(PENDING_COLUMNS)}) VALUES "
                    + ", ".join([placeholders] * len(rows)),
                    [row[c] for row in rows for c in PENDING_COLUMNS],
                )
            if credit:
                self._credit_in(con, credit)

    def pending_rows(self) -> list[dict[str, Any]]:
        """Every queued row (PENDING_COLUMNS), oldest first."""
        if not self.has_pending_table():
            return []
        with self.lock:
            cur = self._con.execute(
                f"SELECT {', '.join(PENDING_COLUMNS)} FROM pending_records ORDER BY created_at, id")
            return [dict(zip(PENDING_COLUMNS, row, strict=True)) for row in cur.fetchall()]

    def delete_pending(self, ids: Sequence[str]) -> None:
        """Remove rows from the queue (forgotten, or merged into a near-duplicate once embedded)."""
        if not ids:
            return
        with self._write() as con:
            self.unqueue_in(con, ids)

    @staticmethod
    def unqueue_in(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> None:
        """Remove rows from the queue inside the caller's transaction."""
        if ids:
            con.execute("DELETE FROM pending_records WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])

    def counted_rows(self) -> str:
        """The rows that statistics count: stored experiences and queued records."""
        if not self.has_pending_table():
            return "experiences"
        return ("(SELECT intent, status, times_recalled, times_in_success FROM experiences UNION ALL "
                "SELECT intent, status, times_recalled, times_in_success FROM pending_records)")
