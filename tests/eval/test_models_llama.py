"""The embedded 1.5B model in process: assemble the real GGUF, generate a constrained tool call.

Marked ``real_model``; skips cleanly when llama-cpp-python or the weight packages (the ``llm``
extra) are missing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from seer.eval.models.assemble import MODELS, ensure_model, part_paths
from seer.eval.models.base import MissingModelPartError

pytestmark = pytest.mark.real_model

TOOLS = ["LoadDB", "FilterDB", "GetValue", "Finish"]
SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 300},
        "tool": {"type": "string", "enum": TOOLS},
        "arguments": {"type": "object"},
    },
    "required": ["thought", "tool", "arguments"],
}
SYSTEM = (
    "You are an agent answering questions over databases with tools. Reply with exactly one JSON "
    "tool call.\nTools:\n- LoadDB(target_db): load a database (flights, coffee, yelp, airbnb).\n"
    "- FilterDB(condition): keep rows matching e.g. 'Date=2022-01-03'.\n"
    "- GetValue(column): read a column of the filtered rows.\n- Finish(answer): give the final answer."
)


@pytest.fixture(scope="module")
def default_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'seer-mcp[llm]')")
    try:
        part_paths(MODELS["default"])
    except MissingModelPartError as exc:
        pytest.skip(f"1.5B weights not installed: {exc}")
    return ensure_model("default", directory=tmp_path_factory.mktemp("models"))


def test_real_default_model_constrained_tool_call_and_kv_reuse(default_model_path: Path) -> None:
    from seer.eval.models.llama import LlamaCppModel

    assert default_model_path.stat().st_size == MODELS["default"].size
    with LlamaCppModel(default_model_path, n_ctx=2048) as model:
        system = {"role": "system", "content": SYSTEM}
        first = model.generate(
            [system, {"role": "user", "content": "What was the coffee price on 2022-01-03?"}],
            schema=SCHEMA, max_tokens=128,
        )
        second = model.generate(
            [system, {"role": "user", "content": "How many flights left JFK on 2022-01-05?"}],
            schema=SCHEMA, max_tokens=128,
        )
    for out in (first, second):
        assert out.finish_reason == "stop", out.text
        call = json.loads(out.text)
        assert call["tool"] in TOOLS and isinstance(call["arguments"], dict)
    assert json.loads(first.text)["tool"] == "LoadDB"
    # the system prefix was served from the KV cache on the second call
    assert first.cached_prompt_tokens == 0
    assert second.cached_prompt_tokens >= second.prompt_tokens - 25
