"""A scripted chat model for tests and smoke runs: it plays back replies (or computes them from the
prompt) and records every prompt it was given. (The deterministic test embedder is
``seer.pool.HashEmbedder``.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seer.eval.models.base import DEFAULT_MAX_TOKENS, Generation, shared_prefix_length

__all__ = ["ScriptExhaustedError", "ScriptedCall", "ScriptedModel"]


class ScriptExhaustedError(AssertionError):
    """The test asked the scripted model for more replies than it scripted (a test bug)."""


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """What one ``generate`` call received (``messages`` is a deep copy)."""

    messages: list[dict[str, Any]]
    schema: dict[str, Any] | None
    max_tokens: int
    stop: list[str] | None
    tools: list[dict[str, Any]] | None = None
    temperature: float | None = None


Reply = str | Generation | BaseException


class ScriptedModel:
    """A :class:`~seer.eval.models.base.ChatModel` that plays back a script.

    ``replies`` is either a list consumed in order (an exception in it is raised at its turn,
    to simulate backend failures; a :class:`Generation` is returned as is, e.g. to script native
    ``tool_calls``) or a function from the messages to the reply. Every call
    is recorded in :attr:`calls` (and its messages in :attr:`prompts`). Token counts are word
    counts; a reply longer than ``max_tokens`` words is cut, as a real backend would.
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Callable[[list[dict[str, Any]]], str | Generation],
        *,
        name: str = "scripted",
    ) -> None:
        self.name = name
        self._fn = replies if callable(replies) else None
        self._replies: list[Reply] = [] if callable(replies) else list(replies)
        self.calls: list[ScriptedCall] = []
        self._last_prompt: list[str] = []

    @property
    def prompts(self) -> list[list[dict[str, Any]]]:
        """The messages of every call so far, in order."""
        return [call.messages for call in self.calls]

    @property
    def remaining(self) -> int:
        """Scripted replies not yet used (0 for a function script)."""
        return len(self._replies)

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Generation:
        """Return the next scripted reply; raises :class:`ScriptExhaustedError` when none is left."""
        snapshot = copy.deepcopy(messages)
        self.calls.append(
            ScriptedCall(
                snapshot,
                copy.deepcopy(schema),
                max_tokens,
                list(stop) if stop else None,
                copy.deepcopy(tools),
                temperature,
            )
        )
        if self._fn is not None:
            reply: Reply = self._fn(copy.deepcopy(messages))
        elif self._replies:
            reply = self._replies.pop(0)
        else:
            raise ScriptExhaustedError(
                f"ScriptedModel {self.name!r} ran out of replies at call {len(self.calls)}; "
                f"last user message: {_last_content(messages)!r}"
            )
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Generation):
            return reply
        text = str(reply)
        for marker in stop or []:
            if marker and marker in text:
                text = text[: text.index(marker)]
        words = text.split()
        finish = "stop"
        if len(words) > max_tokens:
            text, finish = " ".join(words[:max_tokens]), "length"
            words = words[:max_tokens]
        prompt = [w for m in messages for w in str(m.get("content") or "").split()]
        cached = shared_prefix_length(prompt, self._last_prompt)  # what a KV cache would reuse, in words
        self._last_prompt = prompt
        return Generation(text, len(prompt), len(words), 0.0, cached_prompt_tokens=cached,
                          finish_reason=finish)



def _last_content(messages: list[dict[str, Any]]) -> str:
    return str(messages[-1].get("content", ""))[:200] if messages else ""
