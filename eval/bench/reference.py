"""The recall benchmark's baseline: a port of the official SEER example selection.

Source: the official implementation of "Self-Guided Function Calling in Large Language Models via
Stepwise Experience Recall" (Cui et al., EMNLP 2025 Findings, arXiv 2508.15214),
github.com/AI-Research-TeamX/SEER at commit dbfec8a275cc: ``ExampleSelection.select_process_oriented``
and ``select_goal_oriented`` in seer/prompt_library/selection.py, with ``Library.get_by_index`` in
seer/prompt_library/library.py. Written here from reading that code (not copied), keeping the work it
does per call, step by step. For a library of n records (dicts with class, question, steps, tools):

1. the current steps are joined with newlines and the text is looked up in an embedding cache keyed by
   text (embedded on a miss);
2. the candidate matrix is built anew: for every record its steps are joined, the joined text is looked
   up in the same cache, and the n vectors are stacked with ``np.array`` (an n×d copy per call);
3. s1 is the plain dot product of unit vectors (cos, not the paper's (1 + cos)/2);
4. s2 = |set(tools) ∩ set(record tools)| / len(tools) in a Python loop over the records, where ``tools``
   is the list of calls made so far (repeats and failed calls, named "None", count in the denominator);
5. s3 = (record class == classification), a Python loop;
6. the three are summed, all n (score, index) pairs are sorted in Python, the first ``num`` are taken and
   shuffled (``get_by_index``).

Goal-oriented selection is the same with the question and the records' questions in place of the steps.
Left out: the debug prints around a selection and the rendering of the chosen texts (``join_text``),
which cost the same in any implementation. The embedder is the caller's: the reference uses
bge-large-en-v1.5 (1024-d); the benchmark gives the port the pool's own 384-d vectors (pre-filled cache,
as the reference's ``init_cache`` embeds the whole library up front) so both sides scan the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


class ReferenceSelection:
    """The reference's library + selector: records as dicts, an embedding cache keyed by text."""

    def __init__(self, embed: Embed | None = None, seed: int = 42) -> None:
        self.data: list[dict[str, Any]] = []
        self.cache: dict[str, np.ndarray] = {}
        self._embed = embed
        self._random = random.Random(seed)  # the reference seeds the module's random with 42

    def add(
        self,
        record: dict[str, Any],
        *,
        question_vector: np.ndarray | None = None,
        steps_vector: np.ndarray | None = None,
    ) -> None:
        """Append a record ({id, class, question, steps: [str], tools: [str]}) and cache its vectors."""
        self.data.append(record)
        if question_vector is not None:
            self.cache[record["question"]] = question_vector
        if steps_vector is not None:
            self.cache["\n".join(record["steps"])] = steps_vector

    def vector(self, text: str) -> np.ndarray:
        """The cached embedding of ``text``; embedded and cached on a miss (``hit_cache``)."""
        hit = self.cache.get(text)
        if hit is None:
            if self._embed is None:
                raise KeyError(f"no cached embedding for {text[:60]!r} and no embedder")
            hit = self.cache[text] = np.asarray(self._embed([text])[0])
        return hit

    def _scores(self, target: np.ndarray, candidates: np.ndarray, tools: Sequence[str],
                classification: str) -> np.ndarray:
        similarity = target @ candidates.T
        tool_match = np.array(
            [len(set(tools) & set(r["tools"])) / len(tools) if len(tools) > 0 else 0 for r in self.data]
        )
        same_class = np.array([r["class"] == classification for r in self.data])
        return np.asarray(similarity + tool_match + same_class)

    def process_scores(self, steps: Sequence[str], tools: Sequence[str], classification: str) -> np.ndarray:
        """Every record's score for the trajectory-based (process-oriented) selection."""
        target = self.vector("\n".join(steps))
        candidates = np.array([self.vector("\n".join(r["steps"])) for r in self.data])
        return self._scores(target, candidates, tools, classification)

    def goal_scores(self, question: str, tools: Sequence[str], classification: str) -> np.ndarray:
        """Every record's score for the query-based (goal-oriented) selection."""
        target = self.vector(question)
        candidates = np.array([self.vector(r["question"]) for r in self.data])
        return self._scores(target, candidates, tools, classification)

    def _top(self, scores: np.ndarray, num: int) -> list[dict[str, Any]]:
        order = [index for _, index in sorted(zip(scores, range(len(self.data)), strict=True), reverse=True)]
        chosen = [self.data[i] for i in order[:num]]
        self._random.shuffle(chosen)
        return chosen

    def select_process_oriented(
        self, num: int, steps: Sequence[str], tools: Sequence[str], classification: str
    ) -> list[dict[str, Any]]:
        """The ``num`` best records by trajectory similarity + tool coverage + class, shuffled."""
        return self._top(self.process_scores(steps, tools, classification), num)

    def select_goal_oriented(
        self, num: int, question: str, tools: Sequence[str], classification: str
    ) -> list[dict[str, Any]]:
        """The ``num`` best records by question similarity + tool coverage + class, shuffled."""
        return self._top(self.goal_scores(question, tools, classification), num)
