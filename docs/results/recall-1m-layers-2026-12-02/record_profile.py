import cProfile
import pstats
import sys
import time
from pathlib import Path

from seer.eval.bench.workload import PresetEmbedder, load_probes, record_request
from seer.pool import ExperiencePool, HashEmbedder
from seer.pool.render import render_steps

pool = ExperiencePool.open(Path(sys.argv[1]), PresetEmbedder(HashEmbedder()), intent_labels=None)
print("opened", pool.ann_origin, pool.count())
probes = load_probes(Path("../shared/data/toolqa/questions"))[:80]
reqs = [record_request(p) for p in probes]
pool.cache.embed([t for r in reqs for t in (r.task, render_steps(r.steps))])
for r in reqs[:10]:
    pool.record(r)
pr = cProfile.Profile()
pr.enable()
t0 = time.perf_counter()
times = []
for r in reqs[10:]:
    t1 = time.perf_counter()
    pool.record(r)
    times.append((time.perf_counter() - t1) * 1000)
pr.disable()
times.sort()
print("p50 ms", times[len(times) // 2])
pstats.Stats(pr).sort_stats("tottime").print_stats(18)
pool.close()
