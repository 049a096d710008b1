"""Rows an HNSW search can never reach, concurrent vs single-threaded insertion: 12 builds each of 2,000
random unit vectors (384-d, int8, connectivity 16, expansion_add 64, as the pool's index), then one search
with a beam larger than the index; a row missing from its answer is unreachable from the entry point."""

import numpy as np
from usearch.index import Index

rng = np.random.default_rng(1)
for threads in (0, 1):
    missing = []
    for _ in range(12):
        v = rng.standard_normal((2000, 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        index = Index(
            ndim=384, metric="cos", dtype="i8", connectivity=16, expansion_add=64, expansion_search=64
        )
        index.add(np.arange(2000), v, threads=threads)
        index.expansion_search = 400_000
        missing.append(2000 - len(set(np.asarray(index.search(v[0], 400_000, threads=1).keys).tolist())))
    print("threads", threads, "unreached per build:", missing)
