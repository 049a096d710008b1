"""Any OpenAI-compatible chat server (llama.cpp's ``llama_cpp.server``, vLLM, a hosted API) over httpx.

A schema is sent as ``response_format={"type": "json_object", "schema": ...}``, the form
llama.cpp's server turns into a grammar. Connection errors, timeouts, 429 and 5xx answers are
retried with exponential backoff; after the last retry a :class:`ModelTransportError` is raised.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from seer.eval.models.base import (
    DEFAULT_MAX_STRING,
    DEFAULT_MAX_TOKENS,
    ContextOverflowError,
    Generation,
    ModelResponseError,
    ModelTransportError,
    bound_string_lengths,
)


class OpenAICompatModel:
    """Chat completions from ``{base_url}/v1/chat/completions``.

    ``base_url`` may end in ``/v1`` or not. ``retries`` is the number of extra attempts after the
    first one; the wait before retry *i* (0-based) is ``backoff * 2**i`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        *,
        backoff: float = 0.5,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_string_length: int | None = DEFAULT_MAX_STRING,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        self.url = root + ("/chat/completions" if root.endswith("/v1") else "/v1/chat/completions")
        self.model = model
        self.name = f"openai-compat:{model}"
        self.retries = retries
        self.backoff = backoff
        self.temperature = temperature
        self.seed = seed
        self.max_string_length = max_string_length
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Generation:
        """One chat completion; ``tools``/``tool_choice`` are passed through for native tool calling."""
        if max_tokens <= 0:
            raise ValueError("max_tokens must be positive")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if (self.seed if seed is None else seed) is not None:
            body["seed"] = self.seed if seed is None else seed
        if stop:
            body["stop"] = stop
        if schema is not None:
            if self.max_string_length is not None:
                schema = bound_string_lengths(schema, self.max_string_length)
            body["response_format"] = {"type": "json_object", "schema": schema}
        if tools is not None:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        start = time.perf_counter()
        data = self._post(body)
        latency = time.perf_counter() - start
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            usage = data.get("usage") or {}
            details = usage.get("prompt_tokens_details") or {}
            return Generation(
                text=message.get("content") or "",
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                latency_s=latency,
                cached_prompt_tokens=int(details.get("cached_tokens") or 0),
                finish_reason=choice.get("finish_reason"),
                tool_calls=message.get("tool_calls") or None,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ModelResponseError(f"unexpected response from {self.url}: {str(data)[:500]}") from exc

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in (408, 429) or response.status_code >= 500:
                last = f"HTTP {response.status_code}: {response.text[:300]}"
                continue
            if response.status_code >= 400:
                text = response.text[:1000]
                if "context" in text.lower() and ("exceed" in text.lower() or "length" in text.lower()):
                    raise ContextOverflowError(f"{self.url} refused the prompt: {text}")
                raise ModelResponseError(f"{self.url} answered HTTP {response.status_code}: {text}")
            try:
                data = response.json()
            except ValueError as exc:
                raise ModelResponseError(f"{self.url} answered non-JSON: {response.text[:300]}") from exc
            if not isinstance(data, dict):
                raise ModelResponseError(f"{self.url} answered {str(data)[:300]}")
            return data
        raise ModelTransportError(
            f"{self.url} failed after {self.retries + 1} attempt(s); last error: {last}"
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAICompatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
