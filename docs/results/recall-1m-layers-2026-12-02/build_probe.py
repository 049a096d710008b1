import sys
import time
from pathlib import Path

import numpy as np

from seer.eval.bench.recall import synthetic_columns
from seer.eval.bench.workload import PresetEmbedder
from seer.pool import ExperiencePool, HashEmbedder

n, path, chunk = int(sys.argv[1]), Path(sys.argv[2]), 25_000
rng = np.random.default_rng(0)
pool = ExperiencePool.create(path, PresetEmbedder(HashEmbedder()), intent_labels=None)
t0 = time.perf_counter()
for start in range(0, n, chunk):
    t1 = time.perf_counter()
    pool.bulk_insert(synthetic_columns(rng, start, min(chunk, n - start), 384, "hash-384"))
    print(start + chunk, round(time.perf_counter() - t1, 1), flush=True)
print("build", time.perf_counter() - t0)
pool.close()
