"""LLM backends for the evaluation harness: the ChatModel protocol and its implementations.

``LlamaCppModel`` (in-process GGUF, needs the ``llm`` extra) and ``OpenAICompatModel`` (any
OpenAI-compatible HTTP server) are imported lazily so that importing this package never needs
llama-cpp-python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seer.eval.models.assemble import MODELS, ModelPart, ModelSpec, ensure_model
from seer.eval.models.base import (
    DEFAULT_MAX_TOKENS,
    ChatModel,
    ContextOverflowError,
    Generation,
    MissingModelPartError,
    ModelError,
    ModelIntegrityError,
    ModelResponseError,
    ModelSetupError,
    ModelTransportError,
    bound_string_lengths,
)

if TYPE_CHECKING:
    from seer.eval.models.llama import LlamaCppModel
    from seer.eval.models.openai_compat import OpenAICompatModel

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MODELS",
    "ChatModel",
    "ContextOverflowError",
    "Generation",
    "LlamaCppModel",
    "MissingModelPartError",
    "ModelError",
    "ModelIntegrityError",
    "ModelPart",
    "ModelResponseError",
    "ModelSetupError",
    "ModelSpec",
    "ModelTransportError",
    "OpenAICompatModel",
    "bound_string_lengths",
    "ensure_model",
]


def __getattr__(name: str) -> Any:
    if name == "LlamaCppModel":
        from seer.eval.models.llama import LlamaCppModel

        return LlamaCppModel
    if name == "OpenAICompatModel":
        from seer.eval.models.openai_compat import OpenAICompatModel

        return OpenAICompatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
