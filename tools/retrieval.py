"""RetrieveAgenda / RetrieveScirex: top-3 passages by BM25 (the original used dense retrieval)."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from seer.tools.errors import ToolError

logging.getLogger("bm25s").setLevel(logging.NOTSET)  # bm25s sets DEBUG on import; follow the host's level

TOP_K = 3
NO_MATCH = "There is no information that can be matched in the database. Please try another query."
_TOKEN = re.compile(r"[^\W_]+")  # underscores split: SciREX names read "Mean_IoU"
_STOP = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without English stop words."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class Bm25Index:
    """A BM25 index over a list of passages."""

    def __init__(self, passages: list[str]) -> None:
        self.passages = passages
        self._bm25 = bm25s.BM25()
        # an empty token list breaks bm25s; such passages can never match anyway
        self._bm25.index([tokenize(p) or ["\x00"] for p in passages], show_progress=False)
        self._lock = threading.Lock()

    @classmethod
    def from_jsonl(cls, path: Path, field: str) -> Bm25Index:
        """Index the ``field`` of every JSON line of ``path``."""
        passages: list[str] = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    passages.append(str(json.loads(line).get(field, "")))
        return cls(passages)

    def search(self, query: str, k: int = TOP_K) -> list[str]:
        """The ``k`` best passages with a positive score, best first."""
        tokens = tokenize(query)
        if not tokens or not self.passages:
            return []
        with self._lock:
            docs, scores = self._bm25.retrieve(
                [tokens], k=min(k, len(self.passages)), show_progress=False, n_threads=1
            )
        return [
            self.passages[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if np.isfinite(s) and s > 0
        ]


def retrieve(index: Bm25Index, query: str) -> str:
    """The top passages joined by newlines, as ToolQA's retrievers returned them."""
    hits = index.search(query)
    if not hits:
        raise ToolError(NO_MATCH)
    return "\n".join(hits)
