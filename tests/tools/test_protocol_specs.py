"""Tool specs and the text protocol."""

from __future__ import annotations

import pytest

from seer.tools import TOOL_SPECS, ToolError, format_text_call, parse_text_call

EXPECTED_ARGS = {
    "LoadDB": ("target_db",),
    "FilterDB": ("condition",),
    "GetValue": ("column",),
    "SQLInterpreter": ("query",),
    "PythonInterpreter": ("code",),
    "Calculate": ("expression",),
    "RetrieveAgenda": ("query",),
    "RetrieveScirex": ("query",),
    "LoadGraph": ("graph",),
    "NeighbourCheck": ("graph", "node"),
    "NodeCheck": ("graph", "node"),
    "EdgeCheck": ("graph", "node1", "node2"),
    "Finish": ("answer",),
}


def test_thirteen_tools_with_the_contract_argument_names() -> None:
    assert {spec.name: spec.text_args for spec in TOOL_SPECS} == EXPECTED_ARGS
    for spec in TOOL_SPECS:
        assert spec.parameters["type"] == "object"
        assert tuple(spec.parameters["required"]) == spec.text_args
        assert spec.parameters["additionalProperties"] is False
        assert len(spec.description) > 40


def test_descriptions_carry_the_syntax_a_small_model_needs() -> None:
    text = {spec.name: spec.description for spec in TOOL_SPECS}
    assert "Date=2002-04-15" in text["FilterDB"]
    assert all(db in text["LoadDB"] for db in ("flights", "coffee", "airbnb", "yelp"))
    assert "PaperNet" in text["LoadGraph"] and "AuthorNet" in text["LoadGraph"]
    assert "coffee.coffee_data" in text["SQLInterpreter"]


@pytest.mark.parametrize(
    ("text", "name", "arguments"),
    [
        ("FilterDB[a=b, c=d]", "FilterDB", {"condition": "a=b, c=d"}),
        ("  LoadDB [ coffee ]  ", "LoadDB", {"target_db": "coffee"}),
        ("NodeCheck[PaperNet, A, B: c.]", "NodeCheck", {"graph": "PaperNet", "node": "A, B: c."}),
        (
            "NeighbourCheck[AuthorNet,Chao Zhang]",
            "NeighbourCheck",
            {"graph": "AuthorNet", "node": "Chao Zhang"},
        ),
        (
            "EdgeCheck[AuthorNet, Chao Zhang, Weihong Lin]",
            "EdgeCheck",
            {"graph": "AuthorNet", "node1": "Chao Zhang", "node2": "Weihong Lin"},
        ),
        ("SQLInterpreter(SELECT 1)", "SQLInterpreter", {"query": "SELECT 1"}),
        ("Finish[42.75]", "Finish", {"answer": "42.75"}),
        ("Calculate[max([1, 2])]", "Calculate", {"expression": "max([1, 2])"}),
    ],
)
def test_parse_text_call(text: str, name: str, arguments: dict[str, str]) -> None:
    assert parse_text_call(text) == (name, arguments)


def test_python_code_keeps_its_layout() -> None:
    code = "\ndef solution():\n    return [1][0]\n"
    assert parse_text_call(f"PythonInterpreter[{code}]") == ("PythonInterpreter", {"code": code})


@pytest.mark.parametrize(
    "text", ["Search[x]", "LoadDB coffee", "EdgeCheck[AuthorNet, only-one]", "LoadDB[x)"]
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(ToolError):
        parse_text_call(text)


def test_format_round_trips() -> None:
    for text in ("FilterDB[Date=2002-04-15, Close>100]", "EdgeCheck[AuthorNet, Chao Zhang, Weihong Lin]"):
        name, arguments = parse_text_call(text)
        assert format_text_call(name, arguments) == text
    with pytest.raises(ToolError, match="Unknown tool"):
        format_text_call("Nope", {})
