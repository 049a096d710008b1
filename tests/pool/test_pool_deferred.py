"""Deferred embedding: records acknowledged before they are embedded are durable, never recalled before they
have vectors, deduplicated while pending, and published after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, RecordRequest
from tests.pool.conftest import steps_for


class GatedEmbedder(HashEmbedder):
    """The hash embedder, except that the pool's embedding worker waits for ``gate`` before each batch."""

    def __init__(self) -> None:
        super().__init__(384)
        self.gate = threading.Event()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if threading.current_thread().name.startswith("seer-pool-embedder"):
            self.gate.wait()
        return super().embed(texts)


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[ExperiencePool, GatedEmbedder]]:
    embedder = GatedEmbedder()
    pool = ExperiencePool.open(tmp_path / "d.duckdb", embedder, intent_labels=None, defer_embedding=True)
    yield pool, embedder
    embedder.gate.set()
    pool.close()


def request(task: str, tools: Sequence[str] = ("LoadDB", "FilterDB", "GetValue"), **kw: object
            ) -> RecordRequest:
    return RecordRequest(task=task, steps=steps_for(list(tools), task), success=True, intent="coffee",
                         judge="exact_match", **kw)  # type: ignore[arg-type]


def recalled(pool: ExperiencePool, task: str) -> list[str]:
    return [r.id for r in pool.recall(RecallRequest(task=task, intent="coffee", k=4))]


def test_a_pending_record_is_acknowledged_but_recalled_only_once_embedded(
    gated: tuple[ExperiencePool, GatedEmbedder],
) -> None:
    pool, embedder = gated
    out = pool.record(request("What was the opening price of coffee on 2011-02-03?"))
    assert out.stored and out.pending and out.id and "pending" in out.reason
    assert pool.count() == 1 and pool.pending() == 1
    stats = pool.stats()
    assert stats["count"] == 1 and stats["pending"] == 1 and stats["per_status"] == {"active": 1}
    exp = pool.get(out.id)
    assert exp is not None and exp.query_embedding is None  # stored, without vectors yet
    assert recalled(pool, "What was the opening price of coffee on 2011-02-03?") == []
    embedder.gate.set()
    assert pool.settle(10)
    assert recalled(pool, "What was the opening price of coffee on 2011-02-03?") == [out.id]
    assert pool.pending() == 0 and pool.stats()["pending_lag_ms"]["max"] > 0
    embedded = pool.get(out.id, vectors=True)
    assert embedded is not None and embedded.query_embedding is not None


def test_a_record_of_the_same_task_as_a_pending_or_stored_one_merges_at_once(
    gated: tuple[ExperiencePool, GatedEmbedder],
) -> None:
    pool, embedder = gated
    first = pool.record(request("What was the opening price of coffee on 2011-02-03?"))
    again = pool.record(request("what was the opening price of COFFEE on 2011-02-03 ?"))
    assert not again.stored and again.merged_into == first.id  # pending: same normalised task
    other = pool.record(request("What was the opening price of coffee on 2011-02-03?",
                                tools=("LoadDB", "GetValue")))
    assert other.stored  # another tool chain is another template
    embedder.gate.set()
    assert pool.settle(10)
    late = pool.record(request("What was the opening price of coffee on 2011-02-03?"))
    assert not late.stored and late.merged_into == first.id  # stored: same normalised task
    assert pool.count() == 2


def test_a_near_duplicate_acknowledged_while_pending_merges_when_embedded(
    gated: tuple[ExperiencePool, GatedEmbedder],
) -> None:
    pool, embedder = gated
    words = " ".join(f"w{i}" for i in range(60))
    a, b = f"coffee question {words} alpha", f"coffee question {words} beta"
    vectors = HashEmbedder().embed([a, b])
    assert float(vectors[0] @ vectors[1]) >= pool.capacity.dedup_cosine  # near-identical, not equal
    first = pool.record(request(a))
    embedder.gate.set()
    assert pool.settle(10)
    embedder.gate.clear()
    second = pool.record(request(b))
    assert second.stored and second.pending  # its vector is not known when it is acknowledged
    embedder.gate.set()
    assert pool.settle(10)
    assert pool.count() == 1 and pool.get(str(second.id)) is None
    assert recalled(pool, a) == [first.id]


def test_forgetting_a_pending_record_removes_it_for_good(gated: tuple[ExperiencePool, GatedEmbedder]) -> None:
    pool, embedder = gated
    out = pool.record(request("What was the opening price of coffee on 2011-02-03?"))
    assert pool.forget(str(out.id)) and pool.count() == 0
    embedder.gate.set()
    assert pool.settle(10)
    assert pool.count() == 0 and pool.get(str(out.id)) is None and pool.store.pending_rows() == []


def test_an_acknowledged_record_survives_sigkill_before_its_embedding(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    script = textwrap.dedent(f"""
        import os, signal, threading
        from seer.pool import ExperiencePool, HashEmbedder, RecordRequest
        from tests.pool.conftest import steps_for

        class Never(HashEmbedder):  # the embedding worker never gets to embed
            def embed(self, texts):
                if threading.current_thread().name.startswith("seer-pool-embedder"):
                    threading.Event().wait()
                return super().embed(texts)

        pool = ExperiencePool.open({str(path)!r}, Never(), intent_labels=None, defer_embedding=True)
        for i in range(20):
            task = f"What was the opening price of coffee on 2011-02-{{i + 1:02d}}?"
            out = pool.record(RecordRequest(task=task, steps=steps_for(["LoadDB", "GetValue"], task),
                                            success=True, intent="coffee", judge="exact_match"))
            assert out.stored and out.pending
            print(out.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    acknowledged = proc.stdout.split()
    assert len(acknowledged) == 20
    pool = ExperiencePool.open(path, HashEmbedder(), intent_labels=None)  # no deferral: still published
    try:
        assert pool.count() == 20
        assert pool.settle(10) and pool.pending() == 0
        assert pool.store.pending_rows() == []
        for i, ident in enumerate(acknowledged):
            exp = pool.get(ident, vectors=True)
            assert exp is not None and exp.query_embedding is not None
            assert recalled(pool, f"What was the opening price of coffee on 2011-02-{i + 1:02d}?")[0] == ident
    finally:
        pool.close()


class FailingEmbedder(HashEmbedder):
    """The hash embedder, except that it fails in the pool's embedding worker (a broken model)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if threading.current_thread().name.startswith("seer-pool-embedder"):
            raise RuntimeError("model unavailable")
        return super().embed(texts)


def test_a_failed_embedding_keeps_records_pending_through_close_and_reopen(tmp_path: Path) -> None:
    pool = ExperiencePool.open(tmp_path / "c.duckdb", FailingEmbedder(), intent_labels=None,
                               defer_embedding=True)
    ids = [pool.record(request(f"Coffee on 2011-03-{i + 1:02d}?")).id for i in range(5)]
    assert not pool.settle(0.5) and pool.pending() == 5  # retried, never lost
    assert recalled(pool, "Coffee on 2011-03-01?") == []
    pool.close()
    again = ExperiencePool.open(tmp_path / "c.duckdb", HashEmbedder(), intent_labels=None)
    try:
        assert again.count() == 5 and again.settle(10)
        assert sorted(str(e.id) for e in again.experiences()) == sorted(map(str, ids))
    finally:
        again.close()


def test_closing_while_the_model_embeds_keeps_the_records_pending(tmp_path: Path) -> None:
    embedder = GatedEmbedder()  # the worker is stuck in the model until the gate opens
    pool = ExperiencePool.open(tmp_path / "s.duckdb", embedder, intent_labels=None, defer_embedding=True)
    ids = [pool.record(request(f"Coffee on 2011-04-{i + 1:02d}?")).id for i in range(3)]
    pool.close()  # returns although the worker's batch is still in the model
    embedder.gate.set()  # the batch comes back after the close: it must not be published into a closed pool
    again = ExperiencePool.open(tmp_path / "s.duckdb", HashEmbedder(), intent_labels=None)
    try:
        assert again.pending() == 3 and again.settle(10)
        assert sorted(str(e.id) for e in again.experiences()) == sorted(map(str, ids))
    finally:
        again.close()
