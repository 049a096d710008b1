"""Names, argument schemas and model-facing descriptions of the 13 ToolQA tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, what a model reads about it, a JSON schema for its arguments and the
    order in which the text protocol ``Name[a, b]`` lists them."""

    name: str
    description: str
    parameters: dict[str, Any] = field(hash=False, compare=False)
    text_args: tuple[str, ...]


MAX_ARGUMENT_CHARS = 2_000
"""Longest text argument, checked before any parsing (no tool input is ever longer in ToolQA)."""
LONG_ARGUMENT_CHARS = {"code": 20_000, "query": 8_000}  # Python programs and SQL may run longer


def _property(name: str, kind: str | list[str], text: str) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": kind, "description": text}
    if "string" in ([kind] if isinstance(kind, str) else kind):
        prop["maxLength"] = LONG_ARGUMENT_CHARS.get(name, MAX_ARGUMENT_CHARS)
    return prop


def _schema(**props: tuple[str | list[str], str]) -> dict[str, Any]:
    """A closed JSON object schema whose properties are all required; text arguments are bounded."""
    return {
        "type": "object",
        "properties": {name: _property(name, kind, text) for name, (kind, text) in props.items()},
        "required": list(props),
        "additionalProperties": False,
    }


def _spec(name: str, description: str, **props: tuple[str | list[str], str]) -> ToolSpec:
    return ToolSpec(name, description, _schema(**props), tuple(props))


TOOL_SPECS: tuple[ToolSpec, ...] = (
    _spec(
        "Calculate",
        "Calculates an arithmetic formula and returns the result, e.g. Calculate[(-17)-(-7)] -> -10. "
        "Supports + - * / // % ** (or ^), parentheses and sqrt, log, exp, abs, round, min, max, "
        "mean, median, sum.",
        expression=("string", "the formula, e.g. (120.5-118.25)/118.25*100"),
    ),
    _spec(
        "RetrieveAgenda",
        "Retrieves the 3 agenda entries (people's events: date, time, location) most related to the "
        "keywords, e.g. RetrieveAgenda[Stephen's Opera performance].",
        query=("string", "keywords describing the event, person or date"),
    ),
    _spec(
        "RetrieveScirex",
        "Retrieves the 3 paragraphs of machine-learning papers (SciREX) most related to the keywords, "
        "e.g. RetrieveScirex[Mean_IoU score of the FRRN method on Cityscapes dataset].",
        query=("string", "keywords: method, dataset, metric, task"),
    ),
    _spec(
        "LoadDB",
        "Loads a table database and lists its columns. The database name is one of: flights, coffee, "
        "airbnb, yelp. Call it before FilterDB and GetValue, e.g. LoadDB[coffee].",
        target_db=("string", "flights, coffee, airbnb or yelp"),
    ),
    _spec(
        "FilterDB",
        "Filters the loaded database by comma-separated conditions column<op>value with op one of "
        "=, !=, >, <, >=, <=, e.g. FilterDB[Date=2002-04-15] or "
        "FilterDB[Origin=ATL, Dest=MCO, FlightDate=2022-01-12]. Values are compared as text, as in "
        "ToolQA. Filters add up over calls until LoadDB is called again; if no row matches, the "
        "table is left as it was before the call.",
        condition=("string", "conditions such as Date>=2002-04-15, Close>100"),
    ),
    _spec(
        "GetValue",
        "Returns the value of a column of the filtered database: one value for a single row, "
        "otherwise the comma-separated values (refused when there are too many), e.g. GetValue[Open].",
        column=("string", "a column name of the loaded database"),
    ),
    _spec(
        "LoadGraph",
        "Loads the DBLP graph data: two graphs, PaperNet (papers and their citations) and AuthorNet "
        "(authors and their co-authorships). Use LoadGraph[dblp] before the graph checks.",
        graph=("string", "dblp"),
    ),
    _spec(
        "NeighbourCheck",
        "Lists the neighbours of a node: cited/citing papers in PaperNet, collaborators in AuthorNet, "
        "e.g. NeighbourCheck[AuthorNet, Chao Zhang].",
        graph=("string", "PaperNet or AuthorNet"),
        node=("string", "a paper title (PaperNet) or an author name (AuthorNet)"),
    ),
    _spec(
        "NodeCheck",
        "Returns the attributes of a node: a paper's year, venue, citations, keywords... or an "
        "author's organisation, e.g. NodeCheck[PaperNet, Learning the Principle of Least Action "
        "with Reinforcement Learning.].",
        graph=("string", "PaperNet or AuthorNet"),
        node=("string", "a paper title (PaperNet) or an author name (AuthorNet)"),
    ),
    _spec(
        "EdgeCheck",
        "Returns the attributes of the edge between two nodes; in AuthorNet the papers two authors "
        "wrote together, e.g. EdgeCheck[AuthorNet, Chao Zhang, Weihong Lin].",
        graph=("string", "PaperNet or AuthorNet"),
        node1=("string", "the first paper title or author name"),
        node2=("string", "the second paper title or author name"),
    ),
    _spec(
        "SQLInterpreter",
        "Runs one read-only SQL SELECT query over the tables flights.flights_data, coffee.coffee_data, "
        "airbnb.airbnb_data and yelp.yelp_data (spaces in column names become _), e.g. "
        "SQLInterpreter[SELECT Volume FROM coffee.coffee_data WHERE Date = '2000-01-14']. "
        "Returns one line per row: column: value, ...",
        query=("string", "a single SELECT statement"),
    ),
    _spec(
        "PythonInterpreter",
        "Runs Python code (standard library only, no network, no files outside a scratch folder, "
        "a few seconds at most) and returns the value of the variable answer (or what it prints), "
        "e.g. PythonInterpreter[answer = sum([3, 4, 5]) / 3].",
        code=("string", "Python code that sets the variable answer"),
    ),
    _spec(
        "Finish",
        "Returns the final answer and finishes the task, e.g. Finish[42.75].",
        answer=(["string", "number"], "the final answer, as short as possible"),
    ),
)

SPECS_BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in TOOL_SPECS}
