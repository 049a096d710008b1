"""The embedded local model: a GGUF run in process by llama-cpp-python.

We format ChatML ourselves and call the raw completion API instead of
``create_chat_completion``: the 1.5B GGUF's own chat template has a doubled-brace bug and the
``chatml-function-calling`` handler drops ``tool`` messages and ignores ``max_tokens``. Our own
formatting also keeps the static prefix (system text, tool list) byte-identical across calls, so
llama.cpp reuses its KV cache for it and only processes the new suffix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seer.eval.models.assemble import ModelSpec, ensure_model
from seer.eval.models.base import (
    DEFAULT_MAX_STRING,
    DEFAULT_MAX_TOKENS,
    ContextOverflowError,
    Generation,
    ModelError,
    ModelSetupError,
    bound_string_lengths,
    shared_prefix_length,
)

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
_ALWAYS_STOP = [IM_END, "<|endoftext|>"]


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _tool_call_text(call: dict[str, Any]) -> str:
    function = call.get("function", call)
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    body = json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def format_chatml(messages: list[dict[str, Any]], *, add_generation_prompt: bool = True) -> str:
    """Render chat messages as Qwen ChatML, ending with an open assistant turn.

    ``tool`` messages become a user turn of ``<tool_response>`` blocks (consecutive ones share a
    turn, as in Qwen's template); assistant ``tool_calls`` become ``<tool_call>`` blocks. The
    rendering of a message depends only on that message, so a fixed leading system message
    gives a byte-identical prefix.
    """
    out: list[str] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        role = message.get("role", "user")
        if role == "tool":
            blocks = []
            while i < len(messages) and messages[i].get("role") == "tool":
                blocks.append(
                    f"<tool_response>\n{_content_text(messages[i].get('content'))}\n</tool_response>"
                )
                i += 1
            out.append(f"{IM_START}user\n" + "\n".join(blocks) + f"{IM_END}\n")
            continue
        text = _content_text(message.get("content"))
        calls = message.get("tool_calls") or []
        if role == "assistant" and calls:
            text = "\n".join([*([text] if text else []), *(_tool_call_text(c) for c in calls)])
        out.append(f"{IM_START}{role}\n{text}{IM_END}\n")
        i += 1
    if add_generation_prompt:
        out.append(f"{IM_START}assistant\n")
    return "".join(out)


_TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def with_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with Qwen's tool block appended to the system message (added if absent).

    This is Qwen2.5's own tool prompt, written without the GGUF template's doubled-brace bug.
    """
    block = _TOOLS_HEADER + "".join("\n" + json.dumps(t, ensure_ascii=False) for t in tools) + _TOOLS_FOOTER
    if messages and messages[0].get("role") == "system":
        system = _content_text(messages[0].get("content"))
        return [{"role": "system", "content": f"{system}\n\n{block}"}, *messages[1:]]
    return [{"role": "system", "content": block}, *messages]


def _as_call(body: Any, index: int) -> dict[str, Any] | None:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return None
    arguments = body.get("arguments", body.get("parameters", {}))
    return {
        "id": f"call_{index}",
        "type": "function",
        "function": {"name": body["name"], "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def parse_tool_calls(text: str) -> tuple[str, list[dict[str, Any]] | None]:
    """Split a reply into its free text and OpenAI-style tool calls.

    Calls are read from ``<tool_call>`` blocks or, since the small Qwen models usually omit the
    tags, from bare ``{"name": ..., "arguments": ...}`` objects. Anything that is not such an
    object stays in the text, so the caller sees a malformed reply rather than a dropped call.
    """
    calls: list[dict[str, Any]] = []
    kept: list[str] = []
    last = 0
    for match in _TOOL_CALL.finditer(text):
        try:
            call = _as_call(json.loads(match.group(1)), len(calls))
        except ValueError:
            call = None
        if call is not None:
            calls.append(call)
            kept.append(text[last : match.start()])
            last = match.end()
    if not calls:
        decoder = json.JSONDecoder()
        pos = text.find("{")
        while pos != -1:
            try:
                body, end = decoder.raw_decode(text, pos)
            except ValueError:
                pos = text.find("{", pos + 1)
                continue
            call = _as_call(body, len(calls))
            if call is not None:
                calls.append(call)
                kept.append(text[last:pos])
                last = end
            pos = text.find("{", end)
    kept.append(text[last:])
    return ("".join(kept).strip() if calls else text), (calls or None)


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelSetupError(
            "the local model needs llama-cpp-python; install it with: pip install 'seer-mcp[llm]' "
            f"(it builds from source, about 5 minutes) — {exc}"
        ) from exc
    return llama_cpp


def _cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LlamaCppModel:
    """A GGUF model in this process. Thread-safe (calls are serialised); temperature 0 by default.

    ``load_s`` is how long loading took and ``last_timings`` what llama.cpp measured for the last
    call. :meth:`from_registry` assembles a registered model first. By default generation uses
    all cores but one and prompt processing all cores: when another process competes for the
    cores, llama.cpp's generation threads spin-wait on each other and decoding slows ~20x
    (measured on 2 cores: 0.4 tokens/s with 2 threads vs 8.6 with 1).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        seed: int = 0,
        temperature: float = 0.0,
        n_batch: int = 512,
        max_string_length: int = DEFAULT_MAX_STRING,
        name: str | None = None,
        verbose: bool = False,
    ) -> None:
        llama_cpp = _import_llama()
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelSetupError(f"model file not found: {self.path}")
        self.name = name or f"llama.cpp:{self.path.stem}"
        self.n_ctx = n_ctx
        self.temperature = temperature
        self.max_string_length = min(max_string_length, DEFAULT_MAX_STRING)  # llama.cpp segfaults above
        self._lock = threading.Lock()
        self._grammars: dict[str, LlamaGrammar] = {}
        self._grammar_cls = llama_cpp.LlamaGrammar
        self._llama_cpp = llama_cpp
        self.last_timings: dict[str, float] = {}
        """llama.cpp's own counters for the last call: prompt tokens evaluated (not cached) and
        seconds, generated tokens and seconds."""
        start = time.perf_counter()
        try:
            self._llm: Llama = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=n_threads or max(1, _cores() - 1),
                n_threads_batch=n_threads_batch or _cores(),
                n_batch=n_batch,
                seed=seed,
                verbose=verbose,
            )
        except ValueError as exc:  # llama-cpp-python reports load failures as ValueError
            raise ModelSetupError(f"llama.cpp could not load {self.path}: {exc}") from exc
        self.load_s = time.perf_counter() - start

    @classmethod
    def from_registry(cls, model: str | ModelSpec = "default", **kwargs: Any) -> LlamaCppModel:
        """Assemble (or reuse the cached) registered model and load it."""
        path = ensure_model(model)
        name = model if isinstance(model, str) else model.name
        kwargs.setdefault("name", f"llama.cpp:{name}")
        return cls(path, **kwargs)

    def tokenize(self, text: str) -> list[int]:
        """Tokens of ``text`` with special tokens (``<|im_start|>``) parsed, no BOS added."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            bounded = bound_string_lengths(schema, self.max_string_length)
            grammar = self._grammar_cls.from_json_schema(json.dumps(bounded), verbose=False)
            self._grammars[key] = grammar
        return grammar

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
        """Complete the ChatML rendering of ``messages``; see :class:`~seer.eval.models.base.ChatModel`.

        With ``tools`` (OpenAI function specs) the tool list is rendered Qwen-style into the
        system message and ``<tool_call>`` blocks of the reply are returned as ``tool_calls``.
        """
        if max_tokens <= 0:
            raise ValueError("max_tokens must be positive")
        prompt = format_chatml(with_tools(messages, tools) if tools else messages)
        grammar = self._grammar(schema) if schema is not None else None
        with self._lock:
            tokens = self.tokenize(prompt)
            if len(tokens) >= self.n_ctx:
                raise ContextOverflowError(
                    f"prompt of {len(tokens)} tokens does not fit the context window of {self.n_ctx}"
                )
            budget = min(max_tokens, self.n_ctx - len(tokens))
            cached = self._reusable_prefix(tokens)
            self._perf_reset()
            start = time.perf_counter()
            try:
                result: Any = self._llm.create_completion(
                    prompt=tokens,
                    max_tokens=budget,
                    temperature=self.temperature if temperature is None else temperature,
                    seed=seed,
                    top_p=1.0,
                    repeat_penalty=1.0,
                    stop=_ALWAYS_STOP + list(stop or []),
                    grammar=grammar,
                )
            except ValueError as exc:
                raise ModelError(f"llama.cpp failed to generate: {exc}") from exc
            latency = time.perf_counter() - start
            self.last_timings = self._perf_read()
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        text, tool_calls = parse_tool_calls(choice["text"]) if tools else (choice["text"], None)
        return Generation(
            text=text,
            prompt_tokens=len(tokens),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=latency,
            cached_prompt_tokens=cached,
            finish_reason="tool_calls" if tool_calls else choice.get("finish_reason"),
            tool_calls=tool_calls,
        )

    def reset_cache(self) -> None:
        """Forget the KV cache, so the next call processes its whole prompt (for benchmarks)."""
        with self._lock:
            self._llm.reset()

    def _perf_reset(self) -> None:
        self._llama_cpp.llama_perf_context_reset(self._llm.ctx)

    def _perf_read(self) -> dict[str, float]:
        data = self._llama_cpp.llama_perf_context(self._llm.ctx)
        return {
            "prompt_eval_tokens": float(data.n_p_eval),
            "prompt_eval_s": data.t_p_eval_ms / 1000.0,
            "gen_tokens": float(data.n_eval),
            "gen_s": data.t_eval_ms / 1000.0,
        }

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """How many prompt tokens llama.cpp will take from its KV cache (its own prefix rule)."""
        llm = self._llm
        if llm.n_tokens == 0:
            return 0
        common = shared_prefix_length(llm._input_ids[: llm.n_tokens], tokens)
        if common == len(tokens):  # fully cached prompt: one token is replayed to refresh logits
            return common if llm.n_tokens == len(tokens) else common - 1
        return common

    def close(self) -> None:
        """Free the model's memory."""
        close = getattr(self._llm, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> LlamaCppModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
