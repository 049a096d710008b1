"""Build one DuckDB file per table domain from the official CSV / JSON-lines sources.

Values keep the types pandas would infer (``int``, ``float``, ``bool``, ``str``) so that
:func:`render_sql` can turn every cell back into exactly the string ToolQA's
``pandas.read_csv(...).astype(str)`` showed (``-7.0``, ``nan``, ``True``, ``$1,060 ``), while
SQL queries see real numbers (the original MySQL tables coerced strings to numbers in numeric
contexts). Column metadata lives in the table ``__seer_columns`` of each file.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

Kind = Literal["int", "float", "bool", "str"]
SCHEMA_VERSION = 1
META_TABLE = "__seer_columns"
# pandas.read_csv's default NA markers: these cells become NaN (rendered "nan").
PANDAS_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
_JSON_NULL = "\x00seer-null\x00"
# pandas' number syntax (RE2 regexes: as fast as TRY_CAST here and stricter than DuckDB's casts)
_INT_RE = r"^\s*[+-]?\d{1,18}\s*$"
_FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_BOOLS = ("True", "False", "TRUE", "FALSE", "true", "false")


@dataclass(frozen=True)
class Column:
    """One column: the name ToolQA showed, its SQL name, its pandas kind and its NaN text."""

    display: str
    sql: str
    kind: Kind
    null_text: str = "nan"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def render_sql(column: Column) -> str:
    """SQL expression giving the pandas ``astype(str)`` text of the column's cells."""
    ident = quote_ident(column.sql)
    null = quote_literal(column.null_text)
    if column.kind == "bool":
        return f"(CASE WHEN {ident} THEN 'True' WHEN NOT {ident} THEN 'False' ELSE {null} END)"
    if column.kind == "str":
        return f"coalesce({ident}, {null})"
    # DuckDB prints doubles with Python's shortest repr (-7.0, 42.75, 1e-05).
    return f"coalesce(CAST({ident} AS VARCHAR), {null})"


def pandas_names(header: list[str]) -> list[str]:
    """Column names as pandas makes them: ``Unnamed: i`` for blanks, ``.1`` suffixes for repeats."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw if raw != "" else f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def sql_names(display: list[str], domain: str) -> list[str]:
    """SQL column names: spaces become ``_``; airbnb's ``lat``/``long`` become
    ``latitude``/``longitude`` as in the original MySQL tables."""
    renames = {"lat": "latitude", "long": "longitude"} if domain == "airbnb" else {}
    out: list[str] = []
    for name in display:
        sql = renames.get(name, name.replace(" ", "_"))
        while sql.lower() in {o.lower() for o in out}:
            sql += "_"
        out.append(sql)
    return out


def cache_file(cache_dir: Path, domain: str, source: Path) -> Path:
    """The cache file for a source: keyed by its absolute path, size and mtime."""
    import hashlib

    st = source.stat()
    key = f"{SCHEMA_VERSION}|{source.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"{domain}-{digest}.duckdb"


def build_table(domain: str, source: Path, target: Path) -> None:
    """Build ``target`` (table ``{domain}_data`` + metadata) atomically from ``source``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    scratch: Path | None = None
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")
            if source.suffix == ".json":
                scratch = tmp.with_suffix(".csv")
                display, kinds, null_texts = _json_to_csv(source, scratch)
                _load(con, domain, scratch, display, kinds, null_texts, nullstr=[_JSON_NULL])
            else:
                with source.open(newline="", encoding="utf-8", errors="replace") as fh:
                    header = next(csv.reader(fh), [])
                _load(con, domain, source, pandas_names(header), None, None, nullstr=PANDAS_NA)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), scratch):
            if leftover is not None and leftover.exists():
                leftover.unlink()


def _load(
    con: duckdb.DuckDBPyConnection,
    domain: str,
    path: Path,
    display: list[str],
    kinds: list[Kind] | None,
    null_texts: list[str] | None,
    nullstr: list[str],
) -> None:
    names = sql_names(display, domain)
    names_sql = "[" + ", ".join(quote_literal(n) for n in names) + "]"
    nulls_sql = "[" + ", ".join(quote_literal(n) for n in nullstr) + "]"
    # the CSV is scanned twice (types, then rows) rather than staged: flights is 4M x 61 cells
    raw = (
        f"read_csv({quote_literal(str(path))}, header=true, all_varchar=true, delim=',', quote='\"', "
        f"escape='\"', names={names_sql}, nullstr={nulls_sql}, null_padding=true, strict_mode=false)"
    )
    if kinds is None:
        kinds = _infer_kinds(con, raw, names)
    null_texts = null_texts or ["nan"] * len(names)
    columns = [Column(d, s, k, n) for d, s, k, n in zip(display, names, kinds, null_texts, strict=True)]
    casts = ", ".join(f"{_cast(c)} AS {quote_ident(c.sql)}" for c in columns)
    con.execute(f"CREATE TABLE {quote_ident(domain + '_data')} AS SELECT {casts} FROM {raw}")
    con.execute(
        f"CREATE TABLE {META_TABLE} (position INTEGER, display VARCHAR, sql VARCHAR, kind VARCHAR, "
        "null_text VARCHAR)"
    )
    con.executemany(
        f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, ?)",
        [[i, c.display, c.sql, c.kind, c.null_text] for i, c in enumerate(columns)],
    )


def _infer_kinds(con: duckdb.DuckDBPyConnection, raw: str, names: list[str]) -> list[Kind]:
    """pandas' CSV type inference: int (no NaN), float, bool, else str."""
    parts: list[str] = []
    bools = ", ".join(quote_literal(b) for b in _BOOLS)
    for name in names:
        c = quote_ident(name)
        is_int = f"regexp_full_match({c}, '{_INT_RE}')"
        is_float = f"regexp_full_match({c}, '{_FLOAT_RE}')"
        parts += [
            f"count({c})",
            f"count(*) - count({c})",
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {is_int})",
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {is_float})",
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND {c} NOT IN ({bools}))",
        ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {raw}").fetchone()
    assert row is not None
    kinds: list[Kind] = []
    for i in range(len(names)):
        present, missing, not_int, not_float, not_bool = row[5 * i : 5 * i + 5]
        if present == 0:
            kinds.append("float")  # an all-NaN column is float64 in pandas
        elif not_int == 0:
            kinds.append("int" if missing == 0 else "float")
        elif not_float == 0:
            kinds.append("float")
        elif not_bool == 0:
            kinds.append("bool")
        else:
            kinds.append("str")
    return kinds


def _cast(column: Column) -> str:
    c = quote_ident(column.sql)
    if column.kind == "int":
        return f"TRY_CAST(trim({c}) AS BIGINT)"
    if column.kind == "float":
        return f"TRY_CAST(trim({c}) AS DOUBLE)"
    if column.kind == "bool":
        return f"(lower({c}) = 'true')"
    return c


def _json_to_csv(source: Path, out: Path) -> tuple[list[str], list[Kind], list[str]]:
    """Flatten JSON lines as ``pandas.DataFrame(records)`` would, into a CSV of rendered cells."""
    records: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    with source.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                records.append(record)
                columns.update(dict.fromkeys(record))
    names = list(columns)
    kinds = [_json_kind([r.get(name) for r in records]) for name in names]
    null_texts = ["None" if kind == "str" else "nan" for kind in kinds]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(names)
        for record in records:
            writer.writerow(
                [_json_cell(record.get(name), kind) for name, kind in zip(names, kinds, strict=True)]
            )
    return names, kinds, null_texts


def _json_kind(values: list[Any]) -> Kind:
    present = [v for v in values if v is not None]
    if not present:
        return "str"
    if all(isinstance(v, bool) for v in present):
        return "bool" if len(present) == len(values) else "str"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int" if len(present) == len(values) else "float"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float"
    return "str"


def _json_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return _JSON_NULL
    if kind == "float":
        return repr(float(value))
    return str(value)
