"""Why term weights change nothing under same-intent recall: how often s2 (tool coverage) is the same for
every candidate. Rebuilds a run's grown pool (seeds + its records, as `bench tune-weights` does) and, for
each recorded experience at steps 2-4, recalls 32 same-intent candidates with blend.
Usage (from this folder): python s2_spread.py runs/o240-easy-seer
"""

import sys
import tempfile
from pathlib import Path

from seer.eval.bench.tune_weights import recorded_requests
from seer.pool import ExperiencePool, RecallRequest, parse_library
from seer.pool.embedders import load_embedder

run = Path(sys.argv[1])
method, records, library = recorded_requests(run)
with tempfile.TemporaryDirectory() as tmp:
    pool = ExperiencePool.open(Path(tmp) / "p.duckdb", load_embedder("default"))
    if library:
        pool.add_experiences(parse_library(library))
    stored = [(r, pool.record(r)) for r in records]
    n = const_all = const_top = 0
    for r, out in stored:
        if not out.stored:
            continue
        for t in range(2, min(len(r.steps), 4) + 1):
            request = RecallRequest(task=r.task, steps_so_far=r.steps[: t - 1], intent=r.intent, k=32,
                                    strategy="blend", same_intent=True, exclude_task_id=r.source_task_id)
            got = pool.recall(request)
            n += 1
            const_all += len({round(x.s2, 4) for x in got}) == 1
            const_top += len({round(x.s2, 4) for x in got[:8]}) == 1
    pool.close()
share_all, share_top = (100 * c / max(n, 1) for c in (const_all, const_top))
print(f"{run.name} ({method}): {n} recalls at steps 2-4; s2 the same for all 32 same-intent candidates in "
      f"{const_all} ({share_all:.0f}%), for the top 8 in {const_top} ({share_top:.0f}%)")
