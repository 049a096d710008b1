"""Algorithm 1 (stepwise recall), vectorised: one pure function per score term, strategy dispatch, then
selection.

score = λ1·s1 + λ2·s2 + λ3·s3 with
- s1 = (1 + cos(E_H, E_τ')) / 2 (trajectory or query similarity),
- s2 = |U_H ∩ U_τ'| / |U_H| over sets of successful tool calls (0 before any call),
- s3 = 1[I_H = I_τ'].
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seer.pool.ann import AnnIndex
from seer.pool.mirror import Mirror
from seer.pool.models import RecalledExperience, RecallRequest
from seer.pool.render import render_steps


def similarity(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """s1 = (1 + cos)/2 for L2-normalised rows and query."""
    return cosine_to_s1(matrix @ vector)


def cosine_to_s1(cosines: np.ndarray) -> np.ndarray:
    """s1 = (1 + cos)/2 of cosines already computed (e.g. `Mirror.dot` over mapped rows)."""
    return (1.0 + cosines) * 0.5


def tool_coverage(masks: np.ndarray, history_mask: np.ndarray, history_count: int) -> np.ndarray:
    """s2 = |U_H ∩ U_τ| / |U_H| from tool-set bitmasks; zeros when no tool has been called."""
    if history_count == 0:
        return np.zeros(len(masks), np.float32)
    width = min(masks.shape[1], len(history_mask))
    common = np.bitwise_count(masks[:, :width] & history_mask[:width]).sum(axis=1)
    return common.astype(np.float32) / np.float32(history_count)


def intent_match(codes: np.ndarray, intent_code: int) -> np.ndarray:
    """s3 = 1[intent equal]; all zeros for an unknown or missing intent (code -1)."""
    if intent_code < 0:
        return np.zeros(len(codes), np.float32)
    return (codes == intent_code).astype(np.float32)


def combine(s1: np.ndarray, s2: np.ndarray, s3: np.ndarray, request: RecallRequest) -> np.ndarray:
    """λ-weighted sum of the switched-on terms."""
    l1, l2, l3 = request.lambdas
    score = np.zeros(len(s1), np.float32)
    if request.use_s1:
        score += np.float32(l1) * s1
    if request.use_s2:
        score += np.float32(l2) * s2
    if request.use_s3:
        score += np.float32(l3) * s3
    return score


MAX_WIDEN = 16.0  # a trust filter letting through less than 1/16 of the pool: score its rows exactly


@dataclass
class QueryPlan:
    """Which stored column s1 compares against and which text embeds the current history."""

    column: str  # "query" or "trajectory"
    text: str
    history_tools: list[str]
    goal_text: str | None = None  # blend: s1 also averages in the question vs stored questions

    @property
    def texts(self) -> list[str]:
        """The texts to embed: the history text, then the goal text if any."""
        return [self.text] if self.goal_text is None else [self.text, self.goal_text]


def plan(request: RecallRequest) -> QueryPlan:
    """goal: task vs stored queries, fixed at step 1 (later steps reuse it: s2 stays at its step-1 value 0);
    process: steps so far vs stored trajectories (the task at step 1, not the reference's empty string);
    hybrid: goal at step 1, process afterwards; blend: like hybrid, but after step 1 s1 is the mean of the
    trajectory and the question similarity (process alone loses the question type once the first calls of
    a domain look alike). static/random use the hybrid plan only to report terms."""
    ok_steps = [s for s in request.steps_so_far if s.ok]
    tools = [s.tool for s in ok_steps]
    if request.strategy == "goal":
        return QueryPlan("query", request.task, [])
    if request.strategy == "process":
        return QueryPlan("trajectory", render_steps(ok_steps) if ok_steps else request.task, tools)
    if not ok_steps:
        return QueryPlan("query", request.task, [])
    goal_text = request.task if request.strategy == "blend" else None
    return QueryPlan("trajectory", render_steps(ok_steps), tools, goal_text)


@dataclass
class Scored:
    slots: np.ndarray
    score: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    s3: np.ndarray


def score_slots(
    mirror: Mirror,
    slots: np.ndarray | None,
    request: RecallRequest,
    qplan: QueryPlan,
    vector: np.ndarray,
    intent_code: int,
    goal_vector: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> Scored:
    """All three terms and the score for the given slots (None = every slot). Dead, held or quarantined
    slots, and those outside ``allowed`` (a boolean array over every slot, if given) score -inf."""
    n = mirror.n
    sel = slice(0, n) if slots is None else slots
    history_mask = mirror.tool_mask(set(qplan.history_tools), add=False)
    s1 = cosine_to_s1(mirror.dot(qplan.column, sel, vector)).astype(np.float32)
    if goal_vector is not None:
        s1 = ((s1 + cosine_to_s1(mirror.dot("query", sel, goal_vector))) / 2).astype(np.float32)
    s2 = tool_coverage(mirror.masks[sel], history_mask, len(set(qplan.history_tools)))
    s3 = intent_match(mirror.intent[sel], intent_code)
    score = combine(s1, s2, s3, request)
    score[~(mirror.alive[sel] & mirror.active[sel])] = -np.inf
    if allowed is not None:
        score[~allowed[sel]] = -np.inf
    return Scored(np.arange(n) if slots is None else slots, score, s1, s2, s3)


def candidate_slots(
    mirror: Mirror,
    ann: AnnIndex | None,
    qplan: QueryPlan,
    vector: np.ndarray,
    k: int,
    intent_code: int = -1,
    goal_vector: np.ndarray | None = None,
    widen: float = 1.0,
) -> np.ndarray | None:
    """Candidate slots from the ANN index (None = score every slot exactly); with ``goal_vector``
    (blend) also the best by question similarity, since s1 averages both. ``widen`` multiplies the
    index's candidate count (a filter will drop some of them)."""
    if ann is None or len(ann) == 0:
        return None
    count = int(ann.settings.count(k, len(ann)) * widen)
    seqs = ann.candidates(qplan.column, vector, count, intent_code)
    if goal_vector is not None:
        seqs = np.union1d(seqs, ann.candidates("query", goal_vector, count, intent_code))
    return mirror.slots_of_seqs(np.sort(seqs))


def select(
    mirror: Mirror, scored: Scored, request: RecallRequest, *, mode: str = "ranked", seed: int = 0
) -> list[int]:
    """Positions (into `scored`) of the top-k, walked greedily honouring exclude_task_id,
    max_per_template and token_budget. mode: "ranked" (score), "fixed" (slot order), "random" (seeded)."""
    ranked = mode == "ranked"
    k = request.k
    if k == 0 or len(scored.slots) == 0:
        return []
    exclude = mirror.tasks.get(request.exclude_task_id) if request.exclude_task_id is not None else -2
    valid = np.isfinite(scored.score)
    if exclude >= 0:
        valid &= mirror.task[scored.slots] != exclude
    positions = np.flatnonzero(valid)
    if len(positions) == 0:
        return []
    values = scored.score[positions]
    if mode == "fixed":
        order = positions
    elif mode == "random":
        order = positions[random_order(len(positions), seed)]
    else:
        head = min(len(positions), max(8 * k, 64))
        if head < len(positions):
            part = np.argpartition(-values, head - 1)[:head]
            order = positions[part[np.lexsort((scored.slots[positions[part]], -values[part]))]]
        else:
            order = positions[np.lexsort((scored.slots[positions], -values))]
    chosen = _walk(mirror, scored, order, request)
    if len(chosen) < k and ranked and len(order) < len(positions):
        order = positions[np.lexsort((scored.slots[positions], -values))]
        chosen = _walk(mirror, scored, order, request)
    return chosen


def _walk(mirror: Mirror, scored: Scored, order: np.ndarray, request: RecallRequest) -> list[int]:
    chosen: list[int] = []
    per_template: dict[int, int] = {}
    budget = request.token_budget
    used = 0
    for pos in order:
        slot = int(scored.slots[pos])
        if request.max_per_template is not None:
            tpl = int(mirror.template[slot])
            if per_template.get(tpl, 0) >= request.max_per_template:
                continue
        if budget is not None:
            cost = int(mirror.tokens[slot])
            if used + cost > budget:
                continue
        chosen.append(int(pos))
        if request.max_per_template is not None:
            per_template[tpl] = per_template.get(tpl, 0) + 1
        if budget is not None:
            used += cost
        if len(chosen) >= request.k:
            break
    return chosen


def stable_seed(text: str) -> int:
    """A seed derived from a text, equal in every process (``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def request_seed(request: RecallRequest) -> int:
    """The request's seed, else one derived from its task (random strategy and shuffled order)."""
    return request.seed if request.seed is not None else stable_seed(request.task)


def static_slots(mirror: Mirror, request: RecallRequest, intent_code: int) -> np.ndarray | None:
    """The `static` strategy's candidates: the seed experiences of the task's intent (any seeds when s3 is
    off or the intent has none), like a per-domain prompt; None (every slot) when the pool has no seeds."""
    n = mirror.n
    seeds = mirror.alive[:n] & mirror.active[:n] & mirror.seed[:n]
    same = seeds & (mirror.intent[:n] == intent_code)
    slots = np.flatnonzero(same if request.use_s3 and same.any() else seeds)
    return slots if len(slots) else None


def recall_slots(
    mirror: Mirror,
    ann: AnnIndex | None,
    request: RecallRequest,
    qplan: QueryPlan,
    vector: np.ndarray,
    goal_vector: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[Scored, list[int]]:
    """Strategy dispatch of one recall over the mirror: the scored candidates and the positions (into
    them) of the chosen demonstrations, best first. ``request.intent`` is the resolved intent; ``ann``
    supplies candidates for the ranked strategies (None = score every slot exactly); ``allowed``: the
    trust filter (see `seer.pool.trust.recall_mask`)."""
    intent_code = mirror.intents.get(request.intent)
    slots: np.ndarray | None = None
    subset: np.ndarray | None = None  # with a filter: the slots it lets through (scored exactly if short)
    if request.strategy == "static":
        slots, mode = static_slots(mirror, request, intent_code), "fixed"
    elif request.strategy == "random":
        mode = "random"
    else:
        mode = "ranked"
        if ann is not None and len(ann) > 0:
            code = intent_code if request.use_s3 else -1
            widen = 1.0
            if allowed is not None:
                n = mirror.n
                subset = np.flatnonzero(allowed[:n] & mirror.alive[:n] & mirror.active[:n])
                share = len(subset) / max(mirror.live, 1)
                widen = 1.0 / max(share, 1e-9)
            budget = ann.settings.count(request.k, len(ann))
            if subset is not None and (widen > MAX_WIDEN or len(subset) <= budget * 4):
                slots = subset  # a narrow filter: its rows are few, score them all
            else:
                slots = candidate_slots(mirror, ann, qplan, vector, request.k, code, goal_vector=goal_vector,
                                        widen=widen)
    scored = _scored(mirror, slots, request, qplan, vector, intent_code, goal_vector, allowed)
    chosen = select(mirror, scored, request, mode=mode, seed=request_seed(request))
    if len(chosen) < request.k and mode == "ranked" and slots is not None and (
            subset is None or len(slots) < len(subset)):
        # the candidates ran short (filters dropped too many): score every row the filters allow
        scored = _scored(mirror, subset, request, qplan, vector, intent_code, goal_vector, allowed)
        chosen = select(mirror, scored, request, mode=mode, seed=request_seed(request))
    return scored, chosen


def _scored(
    mirror: Mirror,
    slots: np.ndarray | None,
    request: RecallRequest,
    qplan: QueryPlan,
    vector: np.ndarray,
    intent_code: int,
    goal_vector: np.ndarray | None,
    allowed: np.ndarray | None,
) -> Scored:
    scored = score_slots(mirror, slots, request, qplan, vector, intent_code, goal_vector, allowed)
    if request.same_intent:  # another domain's demonstrations must not steer the model
        scored.score[mirror.intent[scored.slots] != intent_code] = -np.inf
    elif request.other_intents:  # the tool protocol from other domains, never this one's other types
        scored.score[mirror.intent[scored.slots] == intent_code] = -np.inf
    return scored


def results(
    request: RecallRequest,
    scored: Scored,
    positions: Sequence[int],
    ids: Sequence[str],
    seqs: Sequence[int],
    rows: Mapping[int, Mapping[str, Any]],
) -> list[RecalledExperience]:
    """The chosen demonstrations with their terms, in the request's order; ``rows``: display fields by
    seq (an experience deleted meanwhile has none and is left out)."""
    out = [
        RecalledExperience(
            id=ident,
            task=rows[seq]["task"],
            intent=rows[seq]["intent"],
            demo_text=rows[seq]["demo_text"],
            tool_chain=rows[seq]["tool_chain"],
            score=float(scored.score[p]),
            s1=float(scored.s1[p]),
            s2=float(scored.s2[p]),
            s3=float(scored.s3[p]),
            recorder=rows[seq].get("recorder", ""),
            judge=rows[seq].get("judge", ""),
        )
        for ident, seq, p in zip(ids, seqs, positions, strict=True)
        if seq in rows
    ]
    return shuffle(out, request_seed(request)) if request.order == "shuffled" else out


def random_order(n_candidates: int, seed: int) -> np.ndarray:
    """A seeded permutation (the `random` strategy)."""
    return np.random.default_rng(seed).permutation(n_candidates)


def shuffle(items: list, seed: int | None) -> list:
    """Paper parity: demonstrations shuffled before rendering (seeded)."""
    out = list(items)
    random.Random(seed).shuffle(out)
    return out
