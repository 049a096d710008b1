"""Methods: the comparison arms of a run (a recall configuration and whether successes are recorded), and
the check that resuming a run would not change what one of them does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from seer.eval.agent import RecallConfig
from seer.eval.runlog import RunHeader
from seer.pool.models import Strategy, Term


@dataclass(frozen=True)
class Method:
    """A comparison arm: how to recall (None: no recall) and whether to learn from successes."""

    name: str
    recall: RecallConfig | None
    learn: bool = True


def _m(name: str, strategy: Strategy | None, terms: list[Term] | None = None, learn: bool = True,
       **recall: Any) -> Method:
    return Method(name, None if strategy is None else RecallConfig(strategy=strategy, terms=terms, **recall),
                  learn)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _m("react", None, learn=False),  # no demonstrations
        _m("static", "static", learn=False),  # fixed seed demonstrations (oracle chains), never updated
        _m("random", "random"),
        _m("query", "goal", ["s1"]),  # query similarity only
        # ours: blend recall of the task's intent and question type, kept in place (the KV cache survives).
        # Nothing of the type stored: the model on its own while it does well on the intent; where it gets
        # less than half right (smoothed), other question types of the intent (an unseen intent: any
        # intent's best). Named seer-adaptive in runs before the default changed (results READMEs).
        _m("seer", "blend", same_intent=True, layout="incremental", min_overlap=0.85, open_below=0.5),
        # seer whose type gate never opens: the model on its own until the pool holds its question's type
        # (the default `seer` of the runs made before the change)
        _m("seer-gated", "blend", same_intent=True, layout="incremental", min_overlap=0.85),
        _m("seer-nogate", "blend", same_intent=True, layout="incremental"),  # no type gate at all
        # seer-gated, but a domain the pool has never seen gets the best demonstrations of any domain (the
        # tool protocol) instead of none, until its own first success is recorded
        _m("seer-any", "blend", same_intent=True, layout="incremental", min_overlap=0.85,
           fallback="unseen_intent"),
        # seer-gated, but a question whose intent and type have nothing stored gets other domains' best
        _m("seer-other", "blend", same_intent=True, layout="incremental", min_overlap=0.85,
           fallback="other_intents"),
        _m("seer-paper", "hybrid"),  # the paper's: goal at step 1, process afterwards, s1+s2+s3, every step
        _m("seer-goal", "goal"),
        _m("seer-process", "process"),
        _m("seer-blend", "blend"),  # ours: after step 1, s1 = mean of trajectory and question similarity
        _m("seer-no-s1", "hybrid", ["s2", "s3"]),
        _m("seer-no-s2", "hybrid", ["s1", "s3"]),
        _m("seer-no-s3", "hybrid", ["s1", "s2"]),
    )
}


def get_method(spec: str, k: int = 4) -> Method:
    """A method by name; ``name@K`` overrides k (a k sweep: ``seer@2,seer@8``)."""
    name, _, k_text = spec.partition("@")
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    base = METHODS[name]
    k = int(k_text) if k_text else k
    recall = replace(base.recall, k=k) if base.recall is not None else None
    return Method(spec, recall, base.learn)


RENAMED = {"seer": ("2026-12-03", "seer-gated")}
"""Names whose meaning changed: since when, and the name the earlier method has now."""


def definitions(specs: Sequence[str], k: int = 4) -> dict[str, Any]:
    """What each method does, for a run log's header (JSON: recall settings and whether it learns)."""
    out: dict[str, Any] = {}
    for spec in specs:
        method = get_method(spec, k)
        recall = None if method.recall is None else asdict(method.recall)
        out[spec] = {"learn": method.learn, "recall": recall}
    return out


def definition_problems(stored: dict[str, Any], specs: Sequence[str], k: int = 4) -> list[str]:
    """Why resuming a run of ``specs`` with today's methods would change what it measures (empty: it would
    not). ``stored``: the header's definitions; a log written before they were stored is checked against
    the names whose meaning changed."""
    now = definitions(specs, k)
    if not stored:
        return [f"{spec!r} has meant something else since {RENAMED[name][0]} (the earlier method is now "
                f"{RENAMED[name][1]!r}), and this log does not say which one it ran"
                for spec in specs if (name := spec.partition("@")[0]) in RENAMED]
    return [f"{spec!r} was {stored.get(spec)} when the run started and is {now[spec]} now"
            for spec in specs if stored.get(spec) != now[spec]]


def check_resume(header: RunHeader, specs: Sequence[str], k: int, path: Path) -> None:
    """Raise ValueError when resuming the run in ``path`` would change what one of its methods does."""
    problems = definition_problems(header.definitions, specs, k)
    if problems:
        raise ValueError(f"{path}: resuming would change what the run measures: {'; '.join(problems)}. "
                         f"Resume it with the seer it started with (version "
                         f"{header.seer_version or 'unknown'}), or start a new run")
