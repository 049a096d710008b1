import cProfile
import pstats
import sys
import time
from pathlib import Path

from seer.eval.bench.workload import PresetEmbedder
from seer.pool import ExperiencePool, HashEmbedder

t0 = time.perf_counter()
pr = cProfile.Profile()
pr.enable()
pool = ExperiencePool.open(Path(sys.argv[1]), PresetEmbedder(HashEmbedder()))
pr.disable()
print("open", time.perf_counter() - t0, pool.opened_from, pool.ann_origin)
pstats.Stats(pr).sort_stats("cumulative").print_stats(30)
