#!/usr/bin/env bash
# ToolQA-hard from the 8 official seeds, online: coffee (synthetic hard templates on the real prices),
# flight and airbnb (ToolQA-synthetic), 20 each. CORE picks the core (default 0). Resume: append
# "online --resume".
CODE=${CODE:-/work/runs/code-head}
CORE=${CORE:-0}
cd /work/runs
for m in react static query seer seer-gate; do
  PYTHONPATH=$CODE/.pythonpath nohup taskset -c "$CORE" nice -n 5 $CODE/docs/results/toolqa-2026-12-02-seeds8/measure.sh \
    $m /work/runs/s8-hard-$m hard seeds8 "$@" > s8-hard-$m.log 2>&1 &
done
