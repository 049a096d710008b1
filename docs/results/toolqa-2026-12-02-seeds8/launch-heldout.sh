#!/usr/bin/env bash
# Held-out protocol from the 8 official seeds: seer and static learn (seer) on half of each domain's
# questions, then the frozen pool is evaluated on the other half. Runs at nice 19 on core 0 beside the
# online runs. CODE: a snapshot of the commit under test (its folders are put first on PYTHONPATH
# through a `seer` link, so work on main does not change a running measurement).
# Resume: the same lines with "--resume" appended.
CODE=${CODE:-/work/runs/code-head}
cd /work/runs
for m in seer static; do
  PYTHONPATH=$CODE/.pythonpath nohup taskset -c 0 nice -n 19 $CODE/docs/results/toolqa-2026-12-02-seeds8/measure.sh \
    $m /work/runs/s8-heldout-$m easy seeds8 heldout "$@" > s8-heldout-$m.log 2>&1 &
done
