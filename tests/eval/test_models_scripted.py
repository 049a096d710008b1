"""ScriptedModel (the one fake chat model for tests) and the ChatML formatting of the local backend."""

from __future__ import annotations

import inspect
import json

import pytest

from seer.eval.models import ChatModel, Generation, ModelTransportError
from seer.eval.models.llama import format_chatml, parse_tool_calls, with_tools
from seer.eval.models.scripted import ScriptedModel, ScriptExhaustedError


def test_plays_back_in_order_and_records_prompts() -> None:
    model = ScriptedModel(["first reply", "second"])
    messages = [{"role": "user", "content": "hi there"}]
    first = model.generate(messages, max_tokens=10)
    messages.append({"role": "assistant", "content": first.text})  # later mutation is not recorded
    second = model.generate(messages, schema={"type": "object"}, max_tokens=5, stop=["X"])
    assert (first.text, second.text) == ("first reply", "second")
    assert isinstance(first, Generation) and first.completion_tokens == 2 and first.prompt_tokens == 2
    assert model.prompts[0] == [{"role": "user", "content": "hi there"}]
    assert len(model.prompts[1]) == 2
    assert model.calls[1].schema == {"type": "object"} and model.calls[1].max_tokens == 5
    assert model.calls[1].stop == ["X"]
    assert model.remaining == 0
    with pytest.raises(ScriptExhaustedError, match="ran out of replies at call 3"):
        model.generate(messages)


def test_callable_script_sees_the_messages() -> None:
    model = ScriptedModel(lambda messages: f"echo {messages[-1]['content']}")
    assert model.generate([{"role": "user", "content": "ping"}]).text == "echo ping"
    assert model.generate([{"role": "user", "content": "pong"}]).text == "echo pong"
    assert len(model.calls) == 2


def test_scripted_exceptions_stop_markers_and_token_bound() -> None:
    model = ScriptedModel([ModelTransportError("down"), "Action: X<CALL_END> trailing", "a b c d e"])
    with pytest.raises(ModelTransportError):
        model.generate([])
    assert model.generate([], stop=["<CALL_END>"]).text == "Action: X"
    cut = model.generate([], max_tokens=3)
    assert (cut.text, cut.completion_tokens, cut.finish_reason) == ("a b c", 3, "length")


def test_takes_every_argument_of_the_chat_model_contract() -> None:
    """``isinstance`` against a Protocol only checks names; the keywords the agent passes must be accepted."""
    contract = set(inspect.signature(ChatModel.generate).parameters) - {"self"}
    assert contract <= set(inspect.signature(ScriptedModel.generate).parameters)
    reply = ScriptedModel(["x"]).generate([{"role": "user", "content": "q"}], schema=None, max_tokens=4,
                                          stop=None, temperature=0.5, seed=1)
    assert reply.text == "x"


def test_chatml_prefix_is_stable_and_tool_messages_are_kept() -> None:
    system = {"role": "system", "content": "You solve tasks with tools: LoadDB, Finish."}
    one = format_chatml([system, {"role": "user", "content": "Q1"}])
    two = format_chatml(
        [
            system,
            {"role": "user", "content": "Q2"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "LoadDB", "arguments": '{"target_db": "flights"}'}}],
            },
            {"role": "tool", "content": "loaded"},
            {"role": "tool", "content": "second result"},
        ]
    )
    prefix = "<|im_start|>system\nYou solve tasks with tools: LoadDB, Finish.<|im_end|>\n"
    assert one.startswith(prefix) and two.startswith(prefix)
    assert one.endswith("<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n")
    assert '<tool_call>\n{"name": "LoadDB", "arguments": {"target_db": "flights"}}\n</tool_call>' in two
    assert (
        "<|im_start|>user\n<tool_response>\nloaded\n</tool_response>\n"
        "<tool_response>\nsecond result\n</tool_response><|im_end|>\n"
    ) in two


def test_scripted_generation_replies_and_tools_are_recorded() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "Finish", "arguments": "{}"}}
    scripted = Generation("", 3, 1, 0.0, tool_calls=[call])
    tools = [{"type": "function", "function": {"name": "Finish"}}]
    model = ScriptedModel([scripted])
    assert model.generate([], tools=tools) is scripted
    assert model.calls[0].tools == tools


def test_native_tool_prompt_and_call_parsing() -> None:
    tools = [{"type": "function", "function": {"name": "LoadDB", "parameters": {"type": "object"}}}]
    rendered = with_tools(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q"}], tools
    )
    assert rendered[0]["content"].startswith("Be brief.\n\n# Tools")
    assert json.dumps(tools[0]) in rendered[0]["content"] and rendered[1] == {"role": "user", "content": "q"}
    assert '{"name": <function-name>, "arguments": <args-json-object>}' in rendered[0]["content"]  # no {{ }}
    assert with_tools([{"role": "user", "content": "q"}], tools)[0]["role"] == "system"

    text, calls = parse_tool_calls(
        'Sure.\n<tool_call>\n{"name": "LoadDB", "arguments": {"target_db": "x"}}\n</tool_call>'
    )
    assert text == "Sure." and calls is not None
    assert calls[0]["function"] == {"name": "LoadDB", "arguments": '{"target_db": "x"}'}
    # the small Qwen models usually drop the tags: bare call objects count too
    text, calls = parse_tool_calls('{"name": "A", "arguments": {}}\n{"name": "B", "arguments": {"x": 1}}')
    assert text == "" and [c["function"]["name"] for c in calls or []] == ["A", "B"]
    assert parse_tool_calls('{"thought": "no call"} {broken') == ('{"thought": "no call"} {broken', None)
