"""OpenAICompatModel: retries and errors offline, then against a real ``llama_cpp.server`` (0.5B)."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seer.eval.models import ModelError, ModelResponseError, ModelTransportError
from seer.eval.models.assemble import ensure_model
from seer.eval.models.openai_compat import OpenAICompatModel
from tests.eval.real_model import skip_unless_model

TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 200},
        "tool": {"type": "string", "enum": ["LoadDB", "FilterDB", "GetValue", "Finish"]},
        "arguments": {"type": "object"},
    },
    "required": ["thought", "tool", "arguments"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ok_body(text: str = "hello") -> dict[str, object]:
    return {
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2},
    }


def test_connection_refused_raises_model_error_after_retries_quickly() -> None:
    port = free_port()  # bound then closed: nothing listens there
    model = OpenAICompatModel(f"http://127.0.0.1:{port}", "m", timeout=2, retries=3, backoff=0.01)
    start = time.perf_counter()
    with pytest.raises(ModelError) as err:
        model.generate([{"role": "user", "content": "hi"}], max_tokens=5)
    assert isinstance(err.value, ModelTransportError)
    assert "after 4 attempt(s)" in str(err.value) and "ConnectError" in str(err.value)
    assert time.perf_counter() - start < 3


def test_retries_5xx_then_succeeds_and_sends_the_request_we_expect() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer k"
        if len(seen) < 3:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json=ok_body('{"a": 1}'))

    model = OpenAICompatModel(
        "http://x/v1", "qwen", api_key="k", backoff=0.001, transport=httpx.MockTransport(handler)
    )
    tools = [{"type": "function", "function": {"name": "Finish", "parameters": {"type": "object"}}}]
    out = model.generate(
        [{"role": "user", "content": "hi"}], schema=TOOL_SCHEMA, max_tokens=64, stop=["\n\n"], tools=tools
    )
    assert (out.text, out.prompt_tokens, out.completion_tokens) == ('{"a": 1}', 7, 2)
    assert len(seen) == 3
    body = seen[-1]
    assert body["max_tokens"] == 64 and body["temperature"] == 0.0 and body["stop"] == ["\n\n"]
    assert body["tools"] == tools
    sent_schema = body["response_format"]["schema"]  # type: ignore[index]
    assert body["response_format"]["type"] == "json_object"  # type: ignore[index]
    assert sent_schema["properties"]["thought"]["maxLength"] == 200


def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"error": "bad request"})

    model = OpenAICompatModel("http://x", "m", transport=httpx.MockTransport(handler))
    with pytest.raises(ModelResponseError, match="HTTP 400"):
        model.generate([{"role": "user", "content": "hi"}])
    assert len(calls) == 1


def test_malformed_body_is_a_response_error() -> None:
    model = OpenAICompatModel(
        "http://x", "m", transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"nope": 1}))
    )
    with pytest.raises(ModelResponseError, match="unexpected response"):
        model.generate([{"role": "user", "content": "hi"}])


def test_native_tool_calls_are_returned() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "Finish", "arguments": '{"answer": "4"}'}}
    body = {"choices": [{"message": {"content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}]}
    model = OpenAICompatModel(
        "http://x", "m", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    )
    out = model.generate([{"role": "user", "content": "2+2?"}], tools=[])
    assert out.text == "" and out.tool_calls == [call] and out.finish_reason == "tool_calls"


# --- real llama_cpp.server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    skip_unless_model("small")
    return ensure_model("small", directory=tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def llama_server(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = [
        m
        for m in ("fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        pytest.skip(f"llama_cpp.server needs {missing}: pip install 'llama-cpp-python[server]==0.3.36'")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(small_model_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_threads",
                "1",  # 2 threads on a busy 2-core machine spin-wait: ~20x slower decode
                "--n_ctx",
                "2048",
                "--model_alias",
                "small",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready after 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.real_model
def test_real_server_plain_and_schema_constrained(llama_server: str) -> None:
    with OpenAICompatModel(llama_server, "small", timeout=120) as model:
        plain = model.generate([{"role": "user", "content": "Say hello in one word."}], max_tokens=8)
        assert plain.text.strip() and 0 < plain.completion_tokens <= 8 and plain.prompt_tokens > 0
        messages = [
            {
                "role": "system",
                "content": "You answer with one tool call as JSON. Tools: LoadDB(target_db), "
                "FilterDB(condition), GetValue(column), Finish(answer).",
            },
            {"role": "user", "content": "Load the flights database."},
        ]
        call = model.generate(messages, schema=TOOL_SCHEMA, max_tokens=96)
    assert call.finish_reason == "stop", call.text
    parsed = json.loads(call.text)
    assert parsed["tool"] in {"LoadDB", "FilterDB", "GetValue", "Finish"}
    assert isinstance(parsed["arguments"], dict) and len(parsed["thought"]) <= 200
