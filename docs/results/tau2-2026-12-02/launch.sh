#!/usr/bin/env bash
# τ²-bench airline (test split, 20 tasks), react vs query vs seer-nogate (seer without its ToolQA question-type
# gate, which never matches across τ² conversations), online. The embedded Qwen2.5-Coder-1.5B is
# served by a real llama_cpp.server on 127.0.0.1 (started and stopped by the harness for each invocation) and
# plays both the agent and the simulated customer. One run folder per method, advanced batch by batch on core 0
# at the lowest priority. Re-running this script resumes where it stopped (finished tasks are skipped).
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=docs/results/tau2-2026-12-02
BATCHES=4
export LITELLM_LOCAL_MODEL_COST_MAP=True
mkdir -p $HERE/runs
for b in $(seq 1 $BATCHES); do
  for m in react query seer-nogate; do
    out=$HERE/runs/$m
    if [ -s "$out/runlog.jsonl" ]; then
      args=(--resume)
    else
      args=(--domain airline --split test --methods "$m" --limit 20 --batches $BATCHES --max-steps 5 --max-turns 8
            --k 2 --seed 0)
    fi
    taskset -c 0 nice -n 19 .venv/bin/seer-mcp run tau2 "${args[@]}" --until-batch "$b" --out "$out" \
      >> "$HERE/runs/$m.log" 2>&1
  done
done
.venv/bin/seer-mcp run compare $HERE/runs/react $HERE/runs/query $HERE/runs/seer-nogate --out $HERE/compare
