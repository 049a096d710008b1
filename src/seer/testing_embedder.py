"""A deterministic, dependency-free test embedder: hashed bag of words (similar texts → similar vectors)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Token-hashing embedder: each word (and word bigram) adds ±1 to a hashed dimension; L2-normalised.

    Deterministic across processes (blake2b, not Python's salted ``hash``), fast, no model.
    """

    def __init__(self, dim: int = 384) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self.dim = dim
        self.id = f"hash-{dim}"
        self.cheap = True  # cheaper than a cache lookup: pools skip the persistent embedding cache
        self._memo: dict[str, tuple[int, float]] = {}

    def _slot(self, token: str) -> tuple[int, float]:
        slot = self._memo.get(token)
        if slot is None:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            slot = (value % self.dim, 1.0 if (value >> 63) & 1 else -1.0)
            if len(self._memo) < 200_000:
                self._memo[token] = slot
        return slot

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts → float32 (n, dim), each row of unit length (empty text → a fixed unit vector)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            tokens = words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
            for token in tokens:
                index, sign = self._slot(token)
                out[row, index] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out
