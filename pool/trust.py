"""Trust in a shared pool: who recorded an experience, which judges count as evidence, which records are
held for review, and which experiences a recall may return.

- Every experience names its *recorder*: the API key name (or token subject) of an HTTP client,
  ``local`` for stdio and in-process use, ``seed:<file name>`` for imports, ``legacy`` for rows from
  before provenance was kept.
- A *verified* judge checked the answer against something outside the client (a gold answer, an
  environment's reward); any other judge (``self``, ``user``, ``unknown``, ...) is the client's own word.
- A :class:`TrustPolicy` is the server operator's: the recorders and judges recall may draw on (a client
  can narrow them, never widen them) and which HTTP records are held until an admin releases them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from seer.pool.mirror import Mirror, Vocab
from seer.pool.models import RecallRequest

HoldPolicy = Literal["self-judged", "all", "none"]
HOLD_POLICIES: tuple[HoldPolicy, ...] = get_args(HoldPolicy)
VERIFIED_JUDGES = frozenset({"exact_match", "em", "numeric", "llm_gold", "env"})
LOCAL = "local"  # stdio and in-process callers: the one client that started the server
ANONYMOUS = "anonymous"  # an HTTP caller on a server without API keys
LEGACY = "legacy"  # rows from before provenance was stored (imported seeds: "seed:legacy")
RESERVED_RECORDERS = frozenset({LOCAL, ANONYMOUS, LEGACY})  # never an API key's name


@dataclass(frozen=True)
class TrustPolicy:
    """The operator's trust settings. ``recorders``/``judges``: names or ``prefix*`` patterns recall may
    draw on (None: any); ``hold``: which records from HTTP clients wait for an admin's release."""

    recorders: tuple[str, ...] | None = None
    judges: tuple[str, ...] | None = None
    hold: HoldPolicy = "self-judged"


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether a recorder or judge name matches one of the patterns (exact, or ``prefix*``)."""
    return any(name == p or (p.endswith("*") and name.startswith(p[:-1])) for p in patterns)


def hold_reason(policy: HoldPolicy, judge: str, *, over_http: bool) -> str | None:
    """Why a record must wait for review under ``policy`` (None: it need not). Only records from HTTP
    clients are held by policy: on stdio the one client is whoever started the server."""
    if not over_http or policy == "none":
        return None
    if policy == "all":
        return "this server holds every record from HTTP clients for review"
    if judge not in VERIFIED_JUDGES:
        checked = ", ".join(sorted(VERIFIED_JUDGES))
        return (f"judge {judge!r} is the client's own word: this server holds records from HTTP clients that "
                f"no gold answer or environment checked ({checked}) for review")
    return None


def _codes(vocab: Vocab, patterns: Sequence[str]) -> np.ndarray:
    return np.array([code for code, name in enumerate(vocab.names) if matches(name, patterns)], np.int32)


def recall_mask(mirror: Mirror, request: RecallRequest, policy: TrustPolicy | None) -> np.ndarray | None:
    """Which slots the recall may return beyond status (a boolean array over ``mirror.n``), from the
    request's recorders/judges and the operator's; None when neither restricts anything. Both apply: a
    client narrows the operator's trust, never widens it."""
    filters: list[tuple[np.ndarray, Vocab, Sequence[str] | None]] = [
        (mirror.recorder, mirror.recorders, request.recorders),
        (mirror.judge, mirror.judges, request.judges)]
    if policy is not None:
        filters += [(mirror.recorder, mirror.recorders, policy.recorders),
                    (mirror.judge, mirror.judges, policy.judges)]
    mask: np.ndarray | None = None
    for column, vocab, patterns in filters:
        if patterns is None:
            continue
        allowed = np.isin(column[: mirror.n], _codes(vocab, patterns))
        mask = allowed if mask is None else mask & allowed
    return mask
