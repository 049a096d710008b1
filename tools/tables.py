"""LoadDB / FilterDB / GetValue over the cached DuckDB tables, with ToolQA's semantics.

As in ToolQA (``pandas.read_csv(...).astype(str)``) every cell is seen as its string, so
``FilterDB[Close>100]`` compares text and ``GetValue[DepDelay]`` shows ``-7.0``. A session's
table is just a domain name plus the list of conditions applied so far; each call runs SQL
over the shared read-only table instead of copying data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from seer.tools.corpus import Corpus, Table
from seer.tools.errors import ToolError
from seer.tools.tablebuild import Column, render_sql

OPERATORS = (">=", "<=", "!=", "==", "=", ">", "<")
_SQL_OPS = {">=": ">=", "<=": "<=", "!=": "<>", "==": "=", "=": "=", ">": ">", "<": "<"}
# a comma starts a new condition only when what follows it (up to the next comma) looks like "column<op>"
_STARTS_CONDITION = re.compile(r"\s*[^,<>=!]+(?:>=|<=|!=|==|=|>|<)")
# ToolQA's GetValue refused lists whose sys.getsizeof exceeded 1024 bytes: 56 + 8 * n > 1024
MAX_VALUES = 121


@dataclass(frozen=True)
class Condition:
    """One FilterDB condition as the caller wrote it and as it resolved."""

    text: str
    column: Column
    op: str
    value: str

    def sql(self) -> str:
        """The parameterised SQL predicate (value bound as ``?``). Equality ignores leading and
        trailing spaces, so ``price=$1,060`` finds airbnb's ``"$1,060 "``; order compares text."""
        cell = render_sql(self.column)
        if self.op in ("=", "==", "!="):
            cell = f"trim({cell})"
        return f"{cell} {_SQL_OPS[self.op]} ?"


@dataclass
class TableState:
    """What one session has loaded: a table domain and the conditions applied to it."""

    table: Table | None = None
    conditions: list[Condition] = field(default_factory=list)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1].strip()
    return text


def split_conditions(argument: str) -> list[str]:
    """Split at the commas that start a condition, in linear time (each piece is matched once)."""
    parts: list[str] = []
    for piece in argument.split(","):
        if parts and not _STARTS_CONDITION.match(piece):
            parts[-1] += "," + piece  # a comma inside a value: "price=$1,060"
        else:
            parts.append(piece)
    return parts


def parse_conditions(table: Table, argument: str) -> list[Condition]:
    """Split ``"Date=2002-04-15, Close>100"`` into resolved conditions."""
    conditions: list[Condition] = []
    for raw in split_conditions(argument.strip()):
        text = raw.strip()
        if not text:
            continue
        match = re.search(r"[<>=!]", text)
        if match is None:
            raise ToolError(
                f"Could not understand the condition {text!r}: write column<op>value with op one of "
                "=, !=, >, <, >=, <=, e.g. Date=2002-04-15."
            )
        start = match.start()
        op = next((o for o in OPERATORS if text.startswith(o, start)), "")
        if not op:
            raise ToolError(f"Could not understand the operator in {text!r}: use =, !=, >, <, >= or <=.")
        column_name = _unquote(text[:start])
        if not column_name:
            raise ToolError(f"The condition {text!r} names no column: write column<op>value.")
        column = table.column(column_name)
        conditions.append(Condition(text, column, op, _unquote(text[start + len(op) :])))
    if not conditions:
        raise ToolError("FilterDB needs at least one condition, e.g. FilterDB[Date=2002-04-15].")
    return conditions


def _where(conditions: list[Condition]) -> tuple[str, list[str]]:
    if not conditions:
        return "", []
    return " WHERE " + " AND ".join(c.sql() for c in conditions), [c.value for c in conditions]


def load_db(corpus: Corpus, state: TableState, target_db: str) -> str:
    """LoadDB: (re)load a table and list its columns; earlier filters are dropped."""
    table = corpus.table(target_db)
    state.table, state.conditions = table, []
    columns = ", ".join(c.display for c in table.columns)
    loaded = f"We have successfully loaded the {table.domain} database"
    return f"{loaded}, including the following columns: {columns}."


def _require(state: TableState, tool: str) -> Table:
    if state.table is None:
        raise ToolError(
            f"Please first load a database with LoadDB (flights, coffee, airbnb or yelp) before {tool}."
        )
    return state.table


def filter_db(corpus: Corpus, state: TableState, condition: str, *, timeout: float = 30.0) -> str:
    """FilterDB: apply conditions in order; if one leaves 0 rows, undo this whole call."""
    table = _require(state, "FilterDB")
    new = parse_conditions(table, condition)
    where, params = _where(state.conditions)
    counts = []
    for k in range(1, len(new) + 1):
        counts.append("count(*) FILTER (WHERE " + " AND ".join(c.sql() for c in new[:k]) + ")")
    # parameters bind left to right: first the FILTER clauses, then the WHERE clause
    filter_params = [c.value for k in range(1, len(new) + 1) for c in new[:k]]
    sql = f"SELECT {', '.join(counts)} FROM {table.qualified}{where}"
    _, rows = corpus.query(sql, filter_params + params, timeout=timeout)
    for cond, count in zip(new, rows[0], strict=True):
        if count == 0:
            return (
                f"The filtering query {cond.text} is incorrect. Please modify the condition. "
                "(No row matches it; the table is as it was before this FilterDB call.)"
            )
    state.conditions = state.conditions + new
    return f"We have successfully filtered the data ({rows[0][-1]} rows)."


def get_value(corpus: Corpus, state: TableState, column: str, *, timeout: float = 30.0) -> str:
    """GetValue: the single value, or the comma-joined values of the filtered rows."""
    table = _require(state, "GetValue")
    col = table.column(_unquote(column))
    where, params = _where(state.conditions)
    sql = f"SELECT {render_sql(col)} FROM {table.qualified}{where} ORDER BY rowid LIMIT {MAX_VALUES + 1}"
    _, rows = corpus.query(sql, params, timeout=timeout)
    if len(rows) > MAX_VALUES:
        _, total = corpus.query(f"SELECT count(*) FROM {table.qualified}{where}", params, timeout=timeout)
        raise ToolError(
            f"An Error Occurred: Too Many Values to Display ({total[0][0]} rows; at most {MAX_VALUES}). "
            "Use FilterDB to narrow the table down first."
        )
    return ", ".join(str(row[0]) for row in rows)
