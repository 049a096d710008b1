"""DuckDB store: migrations, embedder pinning, refusing corrupt/foreign files, locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from seer.pool import MIGRATIONS, SCHEMA_VERSION, ExperiencePool, HashEmbedder, PoolError, PoolLockedError
from seer.pool.home import pools_dir
from seer.pool.store import PoolStore


def test_named_pool_lives_in_pools_dir() -> None:
    pool = ExperiencePool.open("alpha", HashEmbedder(), intent_labels=None)
    pool.close()
    assert (pools_dir() / "alpha.duckdb").exists()


def test_migrations_apply_in_order_on_an_old_pool(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = PoolStore.open(path, "hash-384", 384, migrate_upto=1)
    assert old.schema_version == 1
    old.close()
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None)
    try:
        names = pool.store.applied_migrations()
        assert names == [name for name, _ in MIGRATIONS]
        assert pool.store.schema_version == SCHEMA_VERSION
    finally:
        pool.close()


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    ExperiencePool.open(path, HashEmbedder(), intent_labels=None).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(PoolError, match="newer"):
        ExperiencePool.open(path, HashEmbedder(), intent_labels=None)


def test_other_embedder_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    ExperiencePool.open(path, HashEmbedder(384), intent_labels=None).close()
    with pytest.raises(PoolError) as info:
        ExperiencePool.open(path, HashEmbedder(256), intent_labels=None)
    assert "hash-384" in str(info.value) and "hash-256" in str(info.value)
    # without an embedder the pool's own is rebuilt from its id
    pool = ExperiencePool.open(path, intent_labels=None)
    assert pool.embedder.id == "hash-384"
    pool.close()


@pytest.mark.parametrize("kind", ["garbage", "foreign"])
def test_corrupt_or_foreign_file_refused_and_untouched(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.duckdb"
    if kind == "garbage":
        path.write_bytes(b"this is not a database" * 500)
    else:
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('app', 'someone-else')")
        con.close()
    before = path.read_bytes()
    with pytest.raises(PoolError, match="untouched"):
        ExperiencePool.open(path, HashEmbedder(), intent_labels=None)
    assert path.read_bytes() == before
    assert not Path(str(path) + ".wal").exists()


def test_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    ExperiencePool.open(path, HashEmbedder(), intent_labels=None).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(PoolLockedError, match=rf"open in another process \(pid {holder.pid}\)"):
            ExperiencePool.open(path, HashEmbedder(), intent_labels=None)
    finally:
        holder.communicate("")


class _CostlyHash(HashEmbedder):
    """A HashEmbedder the pool treats as expensive, so it uses the persistent cache."""

    def __init__(self) -> None:
        super().__init__(384)
        self.cheap = False


def test_embedding_cache_persists(tmp_path: Path) -> None:
    from seer.pool.embedders import text_key

    path = tmp_path / "c.duckdb"
    pool = ExperiencePool.open(path, _CostlyHash(), intent_labels=None)
    pool.cache.embed(["some text to cache"])
    pool.close()
    pool = ExperiencePool.open(path, _CostlyHash(), intent_labels=None)
    try:
        key = text_key("some text to cache")
        assert key in pool.store.cache_load([key])
    finally:
        pool.close()
