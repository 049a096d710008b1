#!/usr/bin/env bash
# BFCL multi_turn_base, 50 entries (seeded sample), react vs query vs seer-nogate, online, embedded
# Qwen2.5-Coder-1.5B. seer-nogate is seer without its ToolQA question-type gate (min_overlap 0.85 of type words):
# between BFCL entries that overlap never exceeds 0.29, so gated seer would never recall anything here.
# One run folder per method (same --seed/--limit/--batches, so the same entry stream); the methods advance
# batch by batch, one at a time, on core 0 at the lowest priority (the machine is shared). Re-running this
# script resumes where it stopped: finished tasks are skipped (--resume reads everything from the run logs).
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=docs/results/bfcl-2026-12-02
BATCHES=10
mkdir -p $HERE/runs
for b in $(seq 1 $BATCHES); do
  for m in react query seer-nogate; do
    out=$HERE/runs/$m
    if [ -s "$out/runlog.jsonl" ]; then
      args=(--resume)
    else
      args=(--methods "$m" --limit 50 --batches $BATCHES --max-steps 5 --k 2 --seed 0)
    fi
    taskset -c 0 nice -n 19 .venv/bin/seer-mcp run bfcl "${args[@]}" --until-batch "$b" --out "$out" \
      >> "$HERE/runs/$m.log" 2>&1
  done
done
.venv/bin/seer-mcp run compare $HERE/runs/react $HERE/runs/query $HERE/runs/seer-nogate --out $HERE/compare
