"""Screening of recorded trajectories for instruction-like payloads aimed at the agent or the server.

A stored trajectory is shown to other agents as a demonstration, so text inside it that talks to its
reader ("ignore previous instructions", "you are now ...", chat-template role markers, calls to the
pool's own tools, "always answer X", links that would carry data away) is an injection attempt,
whatever verdict the trajectory claims. :func:`screen_record` names the rules a record matches; the pool
then stores it *held* (never recalled until an admin releases it) instead of silently storing it.

The rule list is short, documented and bounded on purpose: each rule is one regular expression with
bounded repetition, run over every field (task, thoughts, arguments, observations, final answer) after
normalisation (NFKC; control and invisible format characters removed; runs of spaces collapsed), so
simple obfuscation does not slip past. Benign ToolQA trajectories match none (tested on the official
seeds and the SciREX corpus); a rule that would flag ordinary tool output does not belong here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seer.pool.models import Step
from seer.tools.protocol import CALL_BEGIN, CALL_END

_WORDS = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between, lazily (bounded: no runaway backtracking)


@dataclass(frozen=True)
class Rule:
    """One named screening rule: what it catches and the (case-insensitive) pattern that catches it."""

    name: str
    catches: str
    pattern: re.Pattern[str]


def _rule(name: str, catches: str, pattern: str) -> Rule:
    return Rule(name, catches, re.compile(pattern, re.IGNORECASE | re.MULTILINE))


RULES: tuple[Rule, ...] = (
    _rule("ignore_instructions", "telling the reader to ignore, disregard or override its instructions",
          rf"\b(?:ignore|disregard|forget|override|bypass|neglect)\b{_WORDS}(?:instructions?|prompts?|rules|"
          r"directions|directives|guidelines|guidance)\b"
          r"|\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:above|before|previous(?:ly)?|"
          r"prior|earlier|you\s+(?:were|have\s+been)\s+told)\b"),
    _rule("you_are_now", "re-assigning the reader's role or persona",
          r"\byou\s+are\s+now\b|\bfrom\s+now\s+on,?\s+(?:you|always|never|only|ignore|answer|respond|reply)\b"
          r"|\bpretend\s+(?:to\s+be|you\s+are)\b"
          r"|\byour\s+(?:new|real|true)\s+(?:role|task|goal|job|purpose|instructions?)\b"),
    _rule("new_instructions", "announcing new, hidden or updated instructions",
          r"\b(?:new|updated|revised|additional|real|actual|hidden|secret|important)\s+(?:system\s+)?"
          r"instructions?\b|\binstructions?\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|agent|model|llm)\b"),
    _rule("system_prompt", "talking about the system prompt or developer message",
          r"\b(?:system|developer)\s+(?:prompt|message)s?\b"),
    _rule("role_marker", "chat-template role markers or role headers that fake a conversation turn",
          r"<\|[A-Za-z0-9_]{1,40}\|>|\[/?INST\]|<</?SYS>>|</s>|<(?:start|end)_of_turn>"
          r"|^[ \t]*(?:system|assistant)[ \t]*:"),
    _rule("call_marker", "the step protocol's call markers inside text, faking tool calls",
          re.escape(CALL_BEGIN) + "|" + re.escape(CALL_END)),
    _rule("pool_tool_call", "calls for the pool's own tools or maintenance (forget, prune, purge, keys)",
          r"\b(?:forget_experience|record_trajectory|recall_experiences|open_session|list_experiences|"
          r"quarantine_experiences|release_experiences)\b|\bseer-mcp\s+(?:pool|keys)\b"
          r"|\b(?:prune|purge|wipe|delete|drop|clear|reset|revoke|forget)\s+(?:the\s+|all\s+|every\s+|your\s+)?"
          r"(?:experience\s+pool|pool|experiences|memory|memories|api\s+keys?)\b"),
    _rule("always_answer", "forcing a fixed answer regardless of the task",
          r"\b(?:always|only|never)\s+(?:answer|respond|reply)\b"
          r"|\b(?:final\s+)?answer\s+(?:is\s+)?always\b"
          r"|\b(?:answer|respond|reply)\b[^.\n]{0,60}\bregardless\s+of\s+(?:the\s+)?"
          r"(?:question|task|data|tools?|results?)\b"),
    _rule("exfiltration", "links that would carry data away (markdown images, secrets or callbacks in URLs)",
          r"!\[[^\]\n]{0,200}\]\(\s*https?://"
          r"|https?://\S{0,200}?(?:api[_-]?key|token|secret|passw|cookie|exfil|webhook|ngrok|requestbin|"
          r"pipedream|burpcollaborator|interactsh|oast\.)"
          rf"|\b(?:send|post|upload|leak|forward|exfiltrate)\b{_WORDS}(?:to\s+)?https?://"),
    _rule("secret_request", "asking the reader to reveal keys, passwords or its environment",
          rf"\b(?:reveal|print|show|output|send|leak|dump|repeat|tell)\b{_WORDS}(?:api[\s_-]?keys?|"
          r"passwords?|secrets?|credentials?|environment\s+variables|access\s+tokens?|bearer\s+tokens?)\b"),
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)

_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
                        r"|[\U000e0000-\U000e007f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def normalise(text: str) -> str:
    """Text as the rules see it: NFKC, control and invisible format characters dropped, spaces collapsed."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)))


@dataclass(frozen=True)
class Finding:
    """One rule matched in one field, with a short excerpt of what matched."""

    rule: str
    field: str
    excerpt: str


def screen_texts(fields: Iterable[tuple[str, str]]) -> list[Finding]:
    """Every (rule, field) match over (field name, text) pairs, in field order then rule order."""
    found: list[Finding] = []
    for field, text in fields:
        if not text:
            continue
        clean = normalise(text)
        for rule in RULES:
            match = rule.pattern.search(clean)
            if match is not None:
                found.append(Finding(rule.name, field, match.group(0)[:80]))
    return found


def record_fields(task: str, steps: Sequence[Step], final_answer: str) -> list[tuple[str, str]]:
    """The texts of a record that a demonstration could show: task, each step's thought, arguments and
    observation, and the final answer."""
    fields = [("task", task)]
    for i, step in enumerate(steps, 1):
        fields.append((f"step {i} thought", step.thought))
        fields += [(f"step {i} argument {name}", str(value)) for name, value in step.arguments.items()]
        fields.append((f"step {i} observation", step.observation))
    fields.append(("final answer", final_answer))
    return fields


def screen_record(task: str, steps: Sequence[Step], final_answer: str = "") -> list[Finding]:
    """The screening findings of a record (empty: nothing instruction-like found)."""
    return screen_texts(record_fields(task, steps, final_answer))


def rule_names(findings: Iterable[Finding]) -> list[str]:
    """The distinct rules among findings, in the order of :data:`RULES`."""
    hit = {f.rule for f in findings}
    return [name for name in RULE_NAMES if name in hit]


def describe(findings: Sequence[Finding], limit: int = 6) -> str:
    """A one-line reason naming each matched rule and where it matched (the first ``limit``)."""
    parts = [f"{f.rule} in {f.field} ({f.excerpt!r})" for f in findings[:limit]]
    more = len(findings) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def screen_stored(task: str, steps_json: str | None, final_answer: str | None) -> str:
    """Why a stored row (steps as their JSON text) is held, or "" if nothing matches; a row whose steps
    cannot be read matches too, since it could not be screened."""
    try:
        steps = [Step.model_validate(s) for s in json.loads(steps_json or "[]")]
    except (ValueError, TypeError) as exc:  # json, pydantic and shape errors alike
        return f"unreadable steps, not screened: {str(exc).splitlines()[0][:200]}"
    findings = screen_record(task or "", steps, final_answer or "")
    return f"instruction-like text (screening rules: {describe(findings)})" if findings else ""
