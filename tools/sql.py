"""SQLInterpreter: one SELECT over the cached tables, read-only by construction.

The database refuses writes itself: the shared DuckDB instance opens its files read-only,
has external access disabled (no ``COPY ... TO``, ``ATTACH``, ``read_csv('/etc/passwd')``,
``INSTALL``) and its configuration locked. On top of that only a single SELECT statement is
accepted (as DuckDB's parser classifies it), which also keeps a session from creating TEMP
objects or detaching the tables other sessions use.
"""

from __future__ import annotations

from typing import Any

import duckdb

from seer.tools.corpus import Corpus
from seer.tools.errors import ToolError

MAX_ROWS = 100
DEFAULT_TIMEOUT = 10.0


def _single_select(query: str) -> str:
    try:
        with duckdb.connect() as parser:  # a throwaway in-memory database, only to classify
            statements = parser.extract_statements(query)
    except duckdb.Error as exc:
        raise ToolError(
            f"There is something wrong with the SQL command you send: {_first_line(exc)}"
        ) from exc
    if len(statements) != 1:
        raise ToolError(f"Send exactly one SQL statement (got {len(statements)}).")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = str(statement.type).rsplit(".", 1)[-1]
        raise ToolError(f"Only read-only SELECT queries are allowed (got a {kind} statement).")
    return statement.query.strip().rstrip(";")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def _cell(value: Any) -> str:
    return "None" if value is None else str(value)


def run_sql(corpus: Corpus, query: str, *, timeout: float = DEFAULT_TIMEOUT, max_rows: int = MAX_ROWS) -> str:
    """Run ``query`` and format rows as ToolQA did: ``col: value, col: value`` per line."""
    sql = _single_select(query)
    for domain in corpus.tables_in(sql):
        corpus.table(domain)
    try:
        columns, rows = corpus.query(sql, timeout=timeout, max_rows=max_rows + 1, bare_names=True)
    except duckdb.Error as exc:
        raise ToolError(
            f"There is something wrong with the SQL command you send: {_first_line(exc)} Please modify it."
        ) from exc
    if not rows:
        return "The query returned no rows."
    lines = [
        ", ".join(f"{c}: {_cell(v)}" for c, v in zip(columns, row, strict=True)) for row in rows[:max_rows]
    ]
    if len(rows) > max_rows:
        lines.append(f"... (only the first {max_rows} rows are shown; aggregate or add LIMIT)")
    return "\n".join(lines)
