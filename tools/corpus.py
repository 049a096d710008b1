"""The ToolQA external corpus in its official layout, shared by all sessions of one server.

Everything is lazy and built once: tables into one DuckDB file per domain in ``cache_dir``
(reused across restarts while the source keeps its path, size and mtime), the DBLP graphs,
the BM25 indexes. All public methods are thread-safe.
"""

from __future__ import annotations

import re
import threading
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from seer.tools.errors import ToolError
from seer.tools.graph import DBLP_FILES, DblpData, load_dblp
from seer.tools.retrieval import Bm25Index
from seer.tools.tablebuild import META_TABLE, Column, build_table, cache_file, quote_ident, quote_literal

TABLE_DOMAINS = ("flights", "coffee", "airbnb", "yelp")
DOMAIN_FILES: dict[str, tuple[str, ...]] = {
    "flights": ("flights/Combined_Flights_2022.csv",),
    "coffee": ("coffee/coffee_price.csv",),
    "airbnb": ("airbnb/Airbnb_Open_Data.csv",),
    "yelp": ("yelp/yelp_academic_dataset_business.json",),
    "dblp": tuple(f"dblp/{name}.pkl" for name in DBLP_FILES),
    "agenda": ("agenda/agenda_descriptions_merged.jsonl",),
    "scirex": ("scirex/Preprocessed_Scirex.jsonl",),
    "gsm8k": (),
}
TABLE_ALIASES = {"flight": "flights"}
# text field of each record of the retrieval corpora
_TEXT_FIELDS = {"agenda": "event", "scirex": "content"}


@dataclass(frozen=True)
class DomainStatus:
    """Whether a domain's files are present; ``detail`` names the missing file otherwise."""

    available: bool
    detail: str


@dataclass(frozen=True)
class Table:
    """A loaded table domain: where SQL finds it and its columns in file order."""

    domain: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        """``flights.flights_data`` etc."""
        return f"{self.domain}.{self.domain}_data"

    def column(self, name: str) -> Column:
        """Look a column up by its ToolQA name or its SQL name (spaces as ``_``)."""
        wanted = name.strip()
        for col in self.columns:
            if wanted in (col.display, col.sql):
                return col
        for col in self.columns:
            if wanted.lower() in (col.display.lower(), col.sql.lower()):
                return col
        raise ToolError(
            f"The column {wanted!r} does not exist in the {self.domain} database. Valid columns: "
            f"{', '.join(c.display for c in self.columns)}."
        )


class Corpus:
    """The official-layout ToolQA corpus under ``root`` with derived caches in ``cache_dir``."""

    def __init__(self, root: Path | None, cache_dir: Path, *, memory_limit: str = "2GB") -> None:
        self.root = Path(root).expanduser() if root is not None else None
        self.cache_dir = Path(cache_dir)
        self.memory_limit = memory_limit
        self._lock = threading.RLock()
        self._domain_locks = {name: threading.Lock() for name in DOMAIN_FILES}
        self._tables: dict[str, Table] = {}
        self._files: dict[str, Path] = {}
        self._hub: duckdb.DuckDBPyConnection | None = None
        # every hub opened, closed together: a replaced hub may still serve a running query
        self._hubs: list[duckdb.DuckDBPyConnection] = []
        self._finalizer = weakref.finalize(self, _close_all, self._hubs)
        self._hub_domains: frozenset[str] = frozenset()
        self._dblp: DblpData | None = None
        self._indexes: dict[str, Bm25Index] = {}

    # -- layout -----------------------------------------------------------------------------
    def domains(self) -> dict[str, DomainStatus]:
        """Every ToolQA domain and whether its files are present."""
        return {name: self._status(name) for name in DOMAIN_FILES}

    def _status(self, domain: str) -> DomainStatus:
        files = DOMAIN_FILES[domain]
        if not files:
            return DomainStatus(True, "needs no corpus")
        if self.root is None:
            return DomainStatus(False, "no corpus directory configured")
        for rel in files:
            if not (self.root / rel).is_file():
                return DomainStatus(False, f"missing {self.root / rel}")
        return DomainStatus(True, ", ".join(str(self.root / rel) for rel in files))

    def require(self, domain: str) -> list[Path]:
        """The domain's files, or a :class:`ToolError` naming the missing one."""
        status = self._status(domain)
        if not status.available:
            if self.root is None:
                raise ToolError(f"The {domain} corpus is not available: no corpus directory is configured.")
            missing = next(rel for rel in DOMAIN_FILES[domain] if not (self.root / rel).is_file())
            raise ToolError(
                f"The {domain} corpus is not available: the file {missing} is missing under the corpus "
                f"directory {self.root}."
            )
        assert self.root is not None
        return [self.root / rel for rel in DOMAIN_FILES[domain]]

    # -- tables -----------------------------------------------------------------------------
    @staticmethod
    def table_name(name: str) -> str:
        """Normalise a LoadDB name (``flight`` is an alias of ``flights``)."""
        key = name.strip().strip("'\"").strip().lower()
        key = TABLE_ALIASES.get(key, key)
        if key not in TABLE_DOMAINS:
            raise ToolError(
                f"The database {name.strip()!r} is not in the list. "
                f"Valid databases: {', '.join(TABLE_DOMAINS)}."
            )
        return key

    def table(self, name: str) -> Table:
        """The table domain, built into the cache and attached on first use."""
        domain = self.table_name(name)
        with self._lock:
            if domain in self._tables and domain in self._hub_domains:
                return self._tables[domain]
        (source,) = self.require(domain)
        with self._domain_locks[domain]:
            if domain not in self._files:
                target = cache_file(self.cache_dir, domain, source)
                if not target.exists():
                    build_table(domain, source, target)
                with self._lock:
                    self._files[domain] = target
        with self._lock:
            if domain not in self._hub_domains:
                self._open_hub()
            return self._tables[domain]

    def tables_in(self, sql: str) -> list[str]:
        """Table domains whose name (or alias) appears in a query."""
        names = {d: [d] + [a for a, t in TABLE_ALIASES.items() if t == d] for d in TABLE_DOMAINS}
        return [d for d, ns in names.items() if any(re.search(rf"\b{n}\b", sql, re.IGNORECASE) for n in ns)]

    def _open_hub(self) -> None:
        """A fresh read-only DuckDB instance with every built domain attached read-only, then
        external access disabled and the configuration locked. Caller holds ``self._lock``."""
        hubs = self.cache_dir / "hubs"
        hubs.mkdir(parents=True, exist_ok=True)
        hub_path = hubs / f"hub-{uuid.uuid4().hex}.duckdb"
        duckdb.connect(str(hub_path)).close()  # an empty database file to open read-only
        try:
            con = duckdb.connect(str(hub_path), read_only=True)
            for domain, path in sorted(self._files.items()):
                con.execute(f"ATTACH {quote_literal(str(path))} AS {quote_ident(domain)} (READ_ONLY)")
            con.execute(f"SET memory_limit = {quote_literal(self.memory_limit)}")
            con.execute("SET enable_progress_bar = false")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        finally:
            hub_path.unlink(missing_ok=True)
            hub_path.with_name(hub_path.name + ".wal").unlink(missing_ok=True)
        for domain in self._files:
            if domain not in self._tables:
                rows = con.execute(
                    f"SELECT display, sql, kind, null_text FROM {quote_ident(domain)}.{META_TABLE} "
                    "ORDER BY position"
                ).fetchall()
                self._tables[domain] = Table(domain, tuple(Column(*row) for row in rows))
        self._hub = con
        self._hubs.append(con)
        self._hub_domains = frozenset(self._files)

    def query(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        timeout: float = 30.0,
        max_rows: int | None = None,
        bare_names: bool = False,
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement on the read-only hub; interrupted after ``timeout`` seconds. ``bare_names``:
        the reference's table names (``SELECT Open FROM coffee``) resolve beside ``coffee.coffee_data``."""
        with self._lock:
            if self._hub is None:
                self._open_hub()
            assert self._hub is not None
            cur = self._hub.cursor()
            domains = sorted(self._hub_domains)
        if bare_names:  # temporary views live in this cursor's connection only
            for domain in domains:
                for name in [domain] + [a for a, t in TABLE_ALIASES.items() if t == domain]:
                    cur.execute(f"CREATE TEMP VIEW {quote_ident(name)} AS SELECT * FROM "
                                f"{quote_ident(domain)}.{quote_ident(domain + '_data')}")
        timer = threading.Timer(timeout, cur.interrupt)
        timer.daemon = True
        timer.start()
        try:
            result = cur.execute(sql, list(params))
            columns = [d[0] for d in result.description or []]
            rows = result.fetchmany(max_rows) if max_rows is not None else result.fetchall()
            return columns, rows
        except duckdb.InterruptException as exc:
            raise ToolError(f"The query was stopped after the {timeout:g} s time limit.") from exc
        finally:
            timer.cancel()
            cur.close()

    def close(self) -> None:
        """Close the DuckDB connections (also done when the corpus is garbage-collected or at exit)."""
        with self._lock:
            self._finalizer()
            self._finalizer = weakref.finalize(self, _close_all, self._hubs)
            self._hub, self._hub_domains = None, frozenset()

    # -- graphs and text --------------------------------------------------------------------
    def dblp(self) -> DblpData:
        """The DBLP graphs and name dictionaries (loaded once, with a restricted unpickler)."""
        files = self.require("dblp")
        with self._domain_locks["dblp"]:
            if self._dblp is None:
                self._dblp = load_dblp(files[0].parent)
            return self._dblp

    def retriever(self, domain: str) -> Bm25Index:
        """The BM25 index over the ``agenda`` or ``scirex`` passages (built once)."""
        (path,) = self.require(domain)
        with self._domain_locks[domain]:
            if domain not in self._indexes:
                self._indexes[domain] = Bm25Index.from_jsonl(path, _TEXT_FIELDS[domain])
            return self._indexes[domain]


def _close_all(connections: list[duckdb.DuckDBPyConnection]) -> None:
    for con in connections:
        con.close()
    connections.clear()
