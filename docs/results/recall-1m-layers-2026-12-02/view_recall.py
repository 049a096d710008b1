"""Recall latency on a reopened pool (ANN base memory-mapped) against the same pool made resident (merge)."""

import json
import sys
from pathlib import Path

import numpy as np

from seer.eval.bench.measures import timed_recalls
from seer.eval.bench.metrics import latency
from seer.eval.bench.workload import PresetEmbedder, query_text
from seer.pool import ExperiencePool, HashEmbedder, RecallRequest, Step

emb = PresetEmbedder(HashEmbedder())
pool = ExperiencePool.open(Path(sys.argv[1]), emb, intent_labels=None)
print("opened", pool.ann_origin, "resident", pool.ann.resident, flush=True)
rng = np.random.default_rng(1)
m = pool.mirror
reqs = []
for i in range(80):  # queries near stored rows (a stored trajectory vector plus noise)
    slot = int(rng.integers(0, m.n))
    v = np.asarray(m.vec["trajectory"][slot], np.float32) + 0.05 * rng.standard_normal(m.dim).astype(
        np.float32
    )
    v /= np.linalg.norm(v)
    steps = [Step(thought=f"q{i}", tool="LoadDB", arguments={"raw": str(i)}, observation="ok")]
    req = RecallRequest(task=f"probe {i}", steps_so_far=steps, intent="flight", strategy="hybrid", k=4)
    emb.presets[query_text(req)] = v
    reqs.append(req)
pool.cache.embed([query_text(r) for r in reqs])
cold_ms, _ = timed_recalls(pool, reqs[:20])
view_ms, view_ids = timed_recalls(pool, reqs[20:])
pool.ann.merge(pool.lock)
print("merged: resident", pool.ann.resident, flush=True)
timed_recalls(pool, reqs[:20])
res_ms, res_ids = timed_recalls(pool, reqs[20:])
print(
    json.dumps(
        {
            "n": pool.count(),
            "first_20_after_open": latency(cold_ms),
            "mapped_base": latency(view_ms),
            "resident": latency(res_ms),
            "same_ids": sum(a == b for a, b in zip(view_ids, res_ids, strict=False)),
            "of": len(res_ids),
        }
    )
)
pool._writer.stop()
pool.store.close()  # no save: the file stays as built
