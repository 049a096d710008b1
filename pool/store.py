"""DuckDB storage of one pool: checked opening, migrations (defined in `seer.pool.schema`), and every SQL
statement the pool runs, each behind a typed method (transactional writes, indexed reads).

One database file per pool. A `meta` table marks the file as a seer pool and fixes the embedder id and
dimension; vectors are FLOAT[dim] arrays. Files that are corrupt, foreign or made by a newer seer are
refused without being written to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from seer.pool.files import backup_wal, duck_error, truncated
from seer.pool.models import PoolError
from seer.pool.rows import COLUMNS, PROVENANCE_DEFAULTS, rows_to_columns, to_param
from seer.pool.schema import APP, MIGRATIONS, SCHEMA_VERSION, create_meta, read_meta
from seer.pool.store_pending import PendingQueries
from seer.pool.store_review import ReviewQueries

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PoolStore"]

_MIRROR_SCALARS = ("seq", "id", "intent", "tool_chain", "template", "source_task_id", "tokens", "judge_kind",
                   "recorder", "status")
_CODED = ("intent", "tool_chain", "template", "source_task_id", "judge_kind", "recorder", "status")
_COUNTS_VIEW = "_usage_increments"  # registered per statement under the store lock
_ADD_TIMES_RECALLED = (
    f"UPDATE experiences SET times_recalled = times_recalled + {_COUNTS_VIEW}.a FROM {_COUNTS_VIEW} "
    f"WHERE experiences.seq = {_COUNTS_VIEW}.s"
)
_ADD_TIMES_IN_SUCCESS = (
    f"UPDATE experiences SET times_in_success = times_in_success + {_COUNTS_VIEW}.a FROM {_COUNTS_VIEW} "
    f"WHERE experiences.seq = {_COUNTS_VIEW}.s"
)


class PoolStore(PendingQueries, ReviewQueries):
    """The DuckDB file of one pool. All methods are thread-safe; every write is one transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, label: str, meta: dict[str, str]):
        self._con = con
        self.path = path
        self.label = label
        self.meta = meta
        self.embedder_id = meta["embedder_id"]
        self.dim = int(meta["dim"])
        self.lock = threading.RLock()
        # point reads on the recall path (display texts, cached embeddings) use their own connection, so a
        # write transaction (a counter flush, a record) never makes a recall wait
        self._reader = con.cursor()
        self._read_lock = threading.Lock()

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        path: Path,
        embedder_id: str | None,
        dim: int | None,
        *,
        label: str | None = None,
        create: bool = True,
        migrate_upto: int | None = None,
    ) -> PoolStore:
        """Open (or create) the pool file; refuses foreign/corrupt files and a different embedder."""
        label = label or path.stem
        exists = path.exists() and path.stat().st_size > 0
        if exists:
            meta = cls.inspect(path, label)
            if embedder_id is not None and meta["embedder_id"] != embedder_id:
                raise PoolError(
                    f"pool {label} was created with embedder {meta['embedder_id']!r} (dim {meta['dim']}); "
                    f"refusing to open it with embedder {embedder_id!r} — vectors of different embedders "
                    f"cannot be compared. Open it with {meta['embedder_id']!r} or use another pool."
                )
            if dim is not None and int(meta["dim"]) != dim:
                raise PoolError(f"pool {label} stores {meta['dim']}-d vectors, the embedder gives {dim}-d")
            backup_wal(path)
            con = cls._connect(path, label)
        else:
            if not create:
                raise PoolError(f"pool {label} does not exist ({path})")
            if embedder_id is None or dim is None:
                raise PoolError(f"pool {label} does not exist; an embedder is needed to create it")
            path.parent.mkdir(parents=True, exist_ok=True)
            con = cls._connect(path, label)
            try:
                with _transaction(con):
                    create_meta(con, embedder_id, dim)
            except BaseException:
                con.close()
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
                raise
        meta = read_meta(con) or {}
        store = cls(con, path, label, meta)
        store.migrate(upto=migrate_upto)
        return store

    @staticmethod
    def _connect(path: Path, label: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise duck_error(path, exc, label) from exc
        con.execute("SET enable_progress_bar = false")
        return con

    @classmethod
    def inspect(cls, path: Path, label: str) -> dict[str, str]:
        """Read the meta of an existing file read-only; never writes to a file that is not ours."""
        con = cls._connect(path, label, read_only=True)
        try:
            meta = read_meta(con)
        finally:
            con.close()
        if meta is None or meta.get("app") != APP:
            size = path.stat().st_size
            if truncated(size):
                raise PoolError(
                    f"pool {label}: {path} looks truncated ({size:,} bytes is not a whole number of DuckDB "
                    "blocks) and its tables cannot be read; it was left untouched — restore it from a backup"
                )
            raise PoolError(
                f"{path} is a DuckDB database but not a seer pool (no seer meta table); it was left untouched"
            )
        try:
            version = int(meta["schema_version"])
            int(meta["dim"])
            meta["embedder_id"]
        except (KeyError, ValueError) as exc:
            raise PoolError(f"{path}: seer meta table is incomplete ({exc}); it was left untouched") from exc
        if version > SCHEMA_VERSION:
            raise PoolError(
                f"pool {label} has schema version {version}, newer than this seer "
                f"({SCHEMA_VERSION}); upgrade seer"
            )
        return meta

    def migrate(self, upto: int | None = None) -> list[str]:
        """Apply pending migrations in order, each in its own transaction; returns the names applied."""
        applied: list[str] = []
        target = SCHEMA_VERSION if upto is None else upto
        with self.lock:
            done = {r[0] for r in self._con.execute("SELECT name FROM migrations").fetchall()}
            for number, (name, migration) in enumerate(MIGRATIONS[:target], 1):
                if name in done:
                    continue
                with _transaction(self._con):
                    migration(self._con, self.dim)
                    self._con.execute("INSERT INTO migrations VALUES (?, ?)", [name, datetime.now(UTC)])
                    self._con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(number)])
                applied.append(name)
            self.meta = read_meta(self._con) or self.meta
        return applied

    @property
    def schema_version(self) -> int:
        return int(self.meta["schema_version"])

    def close(self) -> None:
        with self.lock, self._read_lock:
            self._reader.close()
            self._con.close()

    # ------------------------------------------------------------------ writes
    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction (bumps the pool generation); rolls back on any error."""
        with self.lock:
            with _transaction(self._con):
                self._con.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'generation'"
                )
                yield self._con
            self.meta["generation"] = self._meta_value("generation")

    def _meta_value(self, key: str) -> str:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else ""

    def next_seq(self) -> int:
        """The seq the next inserted row gets (every seq ever given is below it)."""
        with self.lock:
            return int(self._meta_value("next_seq"))

    def _reserve_seqs(self, con: duckdb.DuckDBPyConnection, n: int) -> int:
        """Reserve n sequence numbers inside the current transaction; returns the first."""
        first = int(con.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0])  # type: ignore[index]
        con.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", [str(first + n)])
        return first

    def insert_rows(
        self, rows: Sequence[dict[str, Any]], *, credit: Mapping[int, int] | None = None,
        unqueue: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Insert experience rows (dicts keyed by COLUMNS but ``seq``) in one transaction that numbers
        them, adds ``credit[seq]`` to times_in_success of each credited seq and removes the ``unqueue`` ids
        from the pending records; returns the rows with their seq."""
        with self._write() as con:
            self.unqueue_in(con, unqueue)
            first = self._reserve_seqs(con, len(rows)) if rows else 0
            numbered = [dict(row, seq=first + i) for i, row in enumerate(rows)]
            if len(numbered) > 256:
                self._insert_columns(con, rows_to_columns(numbered, self.dim))
            elif numbered:  # one multi-row statement: about twice as fast as executemany for a batch
                placeholders = "(" + ", ".join("?" for _ in COLUMNS) + ")"
                con.execute(
                    f"INSERT INTO experiences ({', '.join(COLUMNS)}) VALUES "
                    + ", ".join([placeholders] * len(numbered)),
                    [to_param(row[c]) for row in numbered for c in COLUMNS],
                )
            if credit:
                self._add_counts_in(con, _ADD_TIMES_IN_SUCCESS, credit)
        hashes = self.text_hashes([row["norm_task"] for row in numbered])
        return [dict(row, task_hash=h) for row, h in zip(numbered, hashes, strict=True)]

    def insert_columns(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Bulk insert numpy columns (COLUMNS but ``seq``; vectors as 2-D float32 arrays) in one
        transaction that numbers them; returns the columns with ``seq``."""
        n = len(cols["id"])
        cols = {name: np.full(n, value, dtype=object) for name, value in PROVENANCE_DEFAULTS.items()} | cols
        with self._write() as con:
            first = self._reserve_seqs(con, n)
            cols = dict(cols, seq=np.arange(first, first + n, dtype=np.int64))
            self._insert_columns(con, cols)
        return dict(cols, task_hash=self.text_hashes(list(cols["norm_task"])))

    def _insert_columns(self, con: duckdb.DuckDBPyConnection, cols: dict[str, np.ndarray]) -> None:
        """Fast bulk insert from numpy columns via a registered scan, inside the caller's transaction."""
        source: dict[str, np.ndarray] = {}
        selects: list[str] = []
        for name in COLUMNS:
            value = cols[name]
            if value.ndim == 2:
                for i in range(value.shape[1]):
                    source[f"{name}__{i}"] = np.ascontiguousarray(value[:, i])
                inner = ", ".join(f"{name}__{i}" for i in range(value.shape[1]))
                selects.append(f"array_value({inner})::FLOAT[{self.dim}]")
            else:
                source[name] = value
                selects.append(name)
        view = f"_bulk_{threading.get_ident()}"
        con.register(view, source)
        try:
            con.execute(
                f"INSERT INTO experiences ({', '.join(COLUMNS)}) SELECT {', '.join(selects)} FROM {view}"
            )
        finally:
            con.unregister(view)

    def delete(self, ids: Sequence[str]) -> None:
        """Delete experiences by id in one transaction (nothing happens for no ids)."""
        if not ids:
            return
        with self._write() as con:
            con.execute("DELETE FROM experiences WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])

    def evict_least_useful(self, intent: str | None, n: int) -> list[str]:
        """Delete the n least useful experiences (not active first, then lowest times_in_success, then
        oldest) of one intent (None: of the whole pool); returns their ids."""
        # held and quarantined ones go first: a flood of held records cannot push out active experiences
        order = (f"ORDER BY status = 'active' ASC, times_in_success ASC, created_at ASC, seq ASC "
                 f"LIMIT {int(n)}")
        with self.lock:
            if intent is None:
                rows = self._con.execute(f"SELECT id FROM experiences {order}").fetchall()
            else:
                rows = self._con.execute(
                    f"SELECT id FROM experiences WHERE intent = ? {order}", [intent]
                ).fetchall()
            ids = [str(r[0]) for r in rows]
            self.delete(ids)
        return ids

    def add_times_recalled(self, counts: Mapping[int, int]) -> None:
        """times_recalled += counts[seq] (one statement, one transaction)."""
        self._add_counts(_ADD_TIMES_RECALLED, counts)

    def add_times_in_success(self, counts: Mapping[int, int]) -> None:
        """times_in_success += counts[seq] (one statement, one transaction)."""
        self._add_counts(_ADD_TIMES_IN_SUCCESS, counts)

    def _credit_in(self, con: duckdb.DuckDBPyConnection, credit: Mapping[int, int]) -> None:
        self._add_counts_in(con, _ADD_TIMES_IN_SUCCESS, credit)

    def _add_counts(self, statement: str, counts: Mapping[int, int]) -> None:
        if not counts:
            return
        with self.lock, _transaction(self._con):
            self._add_counts_in(self._con, statement, counts)

    @staticmethod
    def _add_counts_in(con: duckdb.DuckDBPyConnection, statement: str, counts: Mapping[int, int]) -> None:
        """Run a counter statement inside the caller's transaction."""
        seqs = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        adds = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        con.register(_COUNTS_VIEW, {"s": seqs, "a": adds})
        try:
            con.execute(statement)
        finally:
            con.unregister(_COUNTS_VIEW)

    def checkpoint(self) -> None:
        """Write the WAL into the database file (file size reflects the data)."""
        with self.lock:
            self._con.execute("CHECKPOINT")

    # ------------------------------------------------------------------- reads
    def count(self) -> int:
        with self.lock:
            return int(self._con.execute("SELECT count(*) FROM experiences").fetchone()[0])  # type: ignore[index]

    def applied_migrations(self) -> list[str]:
        """Names of the migrations applied to this file, sorted."""
        with self.lock:
            rows = self._con.execute("SELECT name FROM migrations ORDER BY name").fetchall()
        return [str(r[0]) for r in rows]

    def load_mirror(self, batch: int = 100_000, *, after: int = -1) -> Iterator[dict[str, Any]]:
        """Columns needed by recall in seq order (seqs above ``after``), in batches, the vectors stacked
        into float32 matrices."""
        last = after
        vector_columns = ("query_embedding", "trajectory_embedding")
        while True:
            with self.lock:
                res = self._con.execute(
                    f"SELECT {', '.join(_MIRROR_SCALARS + vector_columns)}, hash(norm_task) AS task_hash "
                    "FROM experiences WHERE seq > ? "
                    f"ORDER BY seq LIMIT {int(batch)}",
                    [last],
                ).fetchnumpy()
            if len(res["seq"]) == 0:
                return
            out: dict[str, Any] = {key: np.asarray(res[key]) for key in (*_MIRROR_SCALARS, "task_hash")}
            for key in vector_columns:
                out[key] = np.stack(list(res[key])).astype(np.float32, copy=False)
            del res
            last = int(out["seq"][-1])
            yield out

    def load_coded(self, upto: int) -> dict[str, Any]:
        """The mirror's scalar columns of the rows with seq ≤ ``upto``, in seq order, each string column as
        int32 codes into its distinct values in order of first appearance (``names[column]``, None for
        NULL): no Python object per row but the id. `load_mirror`'s scalar columns, several times faster
        at 1M rows."""
        names: dict[str, list[Any]] = {}
        with self.lock:
            try:
                for c in _CODED:
                    self._con.execute(
                        f"CREATE OR REPLACE TEMP TABLE _codes_{c} AS SELECT v, (row_number() OVER"
                        f" (ORDER BY first))::INTEGER - 1 AS c FROM (SELECT {c} AS v, min(seq) AS first"
                        " FROM experiences WHERE seq <= ? GROUP BY v)", [upto])
                    values = self._con.execute(f"SELECT v FROM _codes_{c} ORDER BY c").fetchnumpy()["v"]
                    names[c] = np.ma.masked_array(values).tolist()  # masked (NULL) → None
                joins = " ".join(f"JOIN _codes_{c} ON e.{c} IS NOT DISTINCT FROM _codes_{c}.v"
                                 for c in _CODED)
                res = self._con.execute(
                    "SELECT e.seq, e.id, e.tokens, hash(e.norm_task) AS task_hash, "
                    + ", ".join(f"_codes_{c}.c AS {c}" for c in _CODED)
                    + f" FROM experiences e {joins} WHERE e.seq <= ? ORDER BY e.seq", [upto]).fetchnumpy()
            finally:
                for c in _CODED:
                    self._con.execute(f"DROP TABLE IF EXISTS _codes_{c}")
        out: dict[str, Any] = {key: np.asarray(value) for key, value in res.items()}
        out["names"] = names
        return out

    def vectors(self, seqs: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """(query, trajectory) vectors of the given seqs."""
        if not seqs:
            return {}
        with self.lock:
            rows = self._con.execute(
                "SELECT seq, query_embedding, trajectory_embedding FROM experiences "
                "WHERE seq IN (SELECT unnest(?::BIGINT[]))",
                [list(seqs)],
            ).fetchall()
        return {int(s): (np.asarray(q, np.float32), np.asarray(t, np.float32)) for s, q, t in rows}

    def _select(
        self, where: str, params: Sequence[Any], *, vectors: bool = False, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows matching one of this module's WHERE clauses as dicts (vectors only on request)."""
        cols = [c for c in COLUMNS if vectors or not c.endswith("_embedding")]
        with self.lock:
            cur = self._con.execute(
                f"SELECT {', '.join(cols)} FROM experiences WHERE {where} ORDER BY seq"
                + (f" LIMIT {int(limit)}" if limit else ""),
                params,
            )
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def row(self, experience_id: str, *, vectors: bool = False) -> dict[str, Any] | None:
        """The row of one experience by id, or None."""
        rows = self._select("id = ?", [experience_id], vectors=vectors)
        return rows[0] if rows else None

    def rows_after(
        self, seq: int, *, limit: int | None = None, vectors: bool = False
    ) -> list[dict[str, Any]]:
        """Rows with a larger seq, in seq order (at most ``limit``)."""
        return self._select("seq > ?", [seq], vectors=vectors, limit=limit)

    def rows_by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Rows (without vectors) of the given ids, in seq order."""
        return self._select("id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])

    def text_hashes(self, texts: Sequence[str]) -> np.ndarray:
        """DuckDB's hash of each text (as `load_mirror`'s task_hash; the same within one DuckDB version)."""
        if not texts:
            return np.zeros(0, np.uint64)
        with self._read_lock:
            # fetchall: a result left unread keeps the reader's transaction open (and CHECKPOINT fails)
            rows = self._reader.execute(
                "SELECT list_transform(?::VARCHAR[], lambda x: hash(x))", [list(texts)]
            ).fetchall()
        return np.asarray(rows[0][0], np.uint64)

    def display_rows(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """task, intent, demo_text, tool_chain (a list), recorder and judge by seq: indexed point lookups."""
        if not seqs:
            return {}
        select = "SELECT seq, task, intent, demo_text, tool_chain, recorder, judge_kind FROM experiences "
        with self._read_lock:
            if len(seqs) <= 64:  # point lookups through the seq index
                fetched = self._reader.execute(
                    select + "WHERE seq IN (" + ", ".join("?" for _ in seqs) + ")", list(seqs)).fetchall()
            else:  # many rows (the pool copy): one join
                fetched = self._reader.execute(
                    select + "WHERE seq IN (SELECT unnest(?::BIGINT[]))", [list(seqs)]).fetchall()
        return {
            int(seq): {"task": task, "intent": intent, "demo_text": demo, "tool_chain": json.loads(chain),
                       "recorder": recorder or "", "judge": judge or ""}
            for seq, task, intent, demo, chain, recorder, judge in fetched
        }

    # ------------------------------------------------------- embedding cache
    def cache_load(self, keys: list[str]) -> dict[str, np.ndarray]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT sha256, vec FROM embedding_cache WHERE sha256 IN ("
                + ", ".join("?" for _ in keys)
                + ") AND embedder_id = ?",
                [*keys, self.embedder_id],
            ).fetchall()
        return {k: np.asarray(v, dtype=np.float32) for k, v in rows}

    def cache_save(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.lock, _transaction(self._con):
            self._con.executemany(
                "INSERT INTO embedding_cache VALUES (?, ?, ?, ?)",
                [[self.embedder_id, k, v.astype(np.float32).tolist(), now] for k, v in items.items()],
            )


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
