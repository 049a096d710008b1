"""The pool file's schema: the meta table that marks a seer pool, and the ordered, named migrations that
build the tables (each applied once, in order, in its own transaction, by `seer.pool.store`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from seer.pool.screen import screen_stored

APP = "seer-experience-pool"

Migration = Callable[[duckdb.DuckDBPyConnection, int], None]


def _m0001_initial(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    con.execute(
        f"""CREATE TABLE experiences (
            seq BIGINT NOT NULL, id VARCHAR NOT NULL, task VARCHAR NOT NULL, intent VARCHAR NOT NULL,
            intent_source VARCHAR, steps VARCHAR, tool_chain VARCHAR, template VARCHAR, norm_task VARCHAR,
            demo_text VARCHAR, tokens INTEGER,
            query_embedding FLOAT[{dim}], trajectory_embedding FLOAT[{dim}],
            judge_kind VARCHAR, judge_verdict VARCHAR, model VARCHAR, embedder_id VARCHAR,
            source_task_id VARCHAR, final_answer VARCHAR, created_at TIMESTAMP,
            times_recalled BIGINT DEFAULT 0, times_in_success BIGINT DEFAULT 0)"""
    )


def _m0002_embedding_cache(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    con.execute(
        f"CREATE TABLE embedding_cache (embedder_id VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, "
        f"vec FLOAT[{dim}] NOT NULL, created_at TIMESTAMP)"
    )


def _m0003_lookup_indexes(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    # ART indexes make point lookups (recall results by seq, cache by hash) sub-millisecond.
    con.execute("CREATE INDEX experiences_seq ON experiences(seq)")
    con.execute("CREATE INDEX experiences_id ON experiences(id)")
    con.execute("CREATE INDEX embedding_cache_sha ON embedding_cache(sha256)")


def _m0004_provenance(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    # Who recorded each experience and whether it may be recalled. Rows from before provenance keep
    # every value they had: their recorder is unknown ("legacy"; imported seeds "seed:legacy") and they
    # stay active. Recorders quarantined by an admin stay quarantined for their future records.
    con.execute("ALTER TABLE experiences ADD COLUMN recorder VARCHAR DEFAULT 'legacy'")
    con.execute("ALTER TABLE experiences ADD COLUMN status VARCHAR DEFAULT 'active'")
    con.execute("ALTER TABLE experiences ADD COLUMN status_reason VARCHAR DEFAULT ''")
    con.execute("UPDATE experiences SET recorder = 'seed:legacy' WHERE judge_kind = 'seed'")
    con.execute(
        "CREATE TABLE quarantined_recorders "
        "(recorder VARCHAR PRIMARY KEY, reason VARCHAR, created_at TIMESTAMP)"
    )


def _m0005_screen_legacy(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    # Records are screened as they arrive since provenance; rows from before it never were. Hold the
    # ones that match a screening rule now (an admin can release them), so an old pool file cannot carry
    # an injection into recall through an upgrade.
    rows = con.execute(
        "SELECT id, task, steps, final_answer FROM experiences "
        "WHERE status = 'active' AND recorder IN ('legacy', 'seed:legacy')"
    ).fetchall()
    held = [(f"{why}; held when the pool was upgraded", str(i)) for i, task, steps, answer in rows
            if (why := screen_stored(task, steps, answer))]
    if held:
        con.executemany("UPDATE experiences SET status = 'held', status_reason = ? WHERE id = ?", held)


def _m0006_pending_records(con: duckdb.DuckDBPyConnection, dim: int) -> None:
    # Records acknowledged before their texts were embedded (a server that defers embedding): committed
    # here with everything but a seq and the vectors, moved into `experiences` once embedded.
    con.execute(
        """CREATE TABLE pending_records (
            id VARCHAR NOT NULL, task VARCHAR NOT NULL, intent VARCHAR NOT NULL, intent_source VARCHAR,
            steps VARCHAR, tool_chain VARCHAR, template VARCHAR, norm_task VARCHAR, demo_text VARCHAR,
            tokens INTEGER, judge_kind VARCHAR, judge_verdict VARCHAR, model VARCHAR, embedder_id VARCHAR,
            source_task_id VARCHAR, final_answer VARCHAR, created_at TIMESTAMP,
            times_recalled BIGINT DEFAULT 0, times_in_success BIGINT DEFAULT 0,
            recorder VARCHAR, status VARCHAR, status_reason VARCHAR)"""
    )


# Ordered, named, append-only: never edit or reorder an entry that has shipped.
MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("0001_initial", _m0001_initial),
    ("0002_embedding_cache", _m0002_embedding_cache),
    ("0003_lookup_indexes", _m0003_lookup_indexes),
    ("0004_provenance", _m0004_provenance),
    ("0005_screen_legacy", _m0005_screen_legacy),
    ("0006_pending_records", _m0006_pending_records),
)
SCHEMA_VERSION = len(MIGRATIONS)


def read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The meta table as a dict; None when the file has none (not a seer pool)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "meta" not in tables:
        return None
    try:
        rows = con.execute("SELECT key, value FROM meta").fetchall()
    except duckdb.Error:
        return None
    return {str(k): str(v) for k, v in rows}


def create_meta(con: duckdb.DuckDBPyConnection, embedder_id: str, dim: int) -> None:
    """The meta and migrations tables of a new pool file (schema version 0: no migration applied yet)."""
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("CREATE TABLE migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    now = datetime.now(UTC).isoformat()
    con.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ["app", APP],
            ["schema_version", "0"],
            ["embedder_id", embedder_id],
            ["dim", str(dim)],
            ["created_at", now],
            ["generation", "0"],
            ["next_seq", "1"],
        ],
    )
