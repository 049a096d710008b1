"""Pool-only scale probe (no torch, no model): build n rows with the bench's synthetic columns (uniform
random unit vectors, the hash embedder's id) through bulk_insert, time exact and shipped recalls on random
query vectors, then open the file in a fresh process (persisted copy and index)."""

import json
import sys
import time
from pathlib import Path

import numpy as np

from seer.eval.bench.measures import exact_scan, open_probe, peak_rss_mb, timed_recalls
from seer.eval.bench.metrics import latency, mean_recall_at_k
from seer.eval.bench.procmem import rss_parts_mb
from seer.eval.bench.recall import synthetic_columns
from seer.eval.bench.workload import PresetEmbedder
from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, Step

n, path, chunk = int(sys.argv[1]), Path(sys.argv[2]), 25_000
rng = np.random.default_rng(0)
emb = PresetEmbedder(HashEmbedder())
pool = ExperiencePool.create(path, emb, intent_labels=None)
pool.store._con.execute("SET memory_limit = '300MB'")  # DuckDB buffers capped (machine shared)
t0 = time.perf_counter()
for start in range(0, n, chunk):
    pool.bulk_insert(synthetic_columns(rng, start, min(chunk, n - start), 384, "hash-384"))
    print(f"{start + chunk:,} {time.perf_counter() - t0:.0f}s {rss_parts_mb()}", file=sys.stderr, flush=True)
row = {
    "n": n,
    "build_s": round(time.perf_counter() - t0, 1),
    "rss_after_build": rss_parts_mb(),
    "mapped_slots": getattr(pool.mirror, "frozen", 0),
    "growth_copies": pool.mirror.copies_made() if hasattr(pool.mirror, "copies_made") else None,
}
qrng = np.random.default_rng(1)
reqs = []
for i in range(60):
    v = qrng.standard_normal(384).astype(np.float32)
    v /= np.linalg.norm(v)
    steps = [Step(thought=f"q{i}", tool="LoadDB", arguments={"raw": str(i)}, observation="ok")]
    req = RecallRequest(task=f"probe {i}", steps_so_far=steps, intent="flight", strategy="hybrid", k=4)
    from seer.eval.bench.workload import query_text

    emb.presets[query_text(req)] = v
    reqs.append(req)
pool.cache.embed([query_text(r) for r in reqs])


timed_recalls(pool, reqs[:5])
with exact_scan(pool):
    ex_ms, ex_ids = timed_recalls(pool, reqs)
sh_ms, sh_ids = timed_recalls(pool, reqs)
row |= {
    "exact": latency(ex_ms),
    "shipped": latency(sh_ms),
    "ann": pool.ann is not None,
    "recall_at_4_random": round(mean_recall_at_k(sh_ids, ex_ids, 4), 3),
    "peak_rss_mb": peak_rss_mb(),
}
pool.close()
opened = open_probe(path, persisted=True)
row["open"] = opened
print(json.dumps(row))
