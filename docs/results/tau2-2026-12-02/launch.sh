#!/usr/bin/env bash
# τ²-bench airline (test split, 20 tasks), react vs query vs seer (today's default: its ToolQA question-type
# gate never matches across τ² conversations, and opens on an intent the agent gets right less than half the
# time), online. The embedded Qwen2.5-Coder-1.5B is
# served by a real llama_cpp.server on 127.0.0.1 (started and stopped by the harness for each invocation) and
# plays both the agent and the simulated customer. One run folder per method, on core 0 at the lowest
# priority. Re-running this script resumes where it stopped (finished tasks are skipped).
# Steps (default: all four in order): launch.sh [react] [first] [rest] [compare], CORE (default 0), NICE
# (default 19), METHODS (the memory methods, default "query seer"):
#   (react, first, rest, compare: see docs/results/bench_steps.sh)
# e.g. two cores: CORE=0 launch.sh react & CORE=1 launch.sh first; wait; then CORE=0 METHODS=query launch.sh
# rest & CORE=1 METHODS=seer launch.sh rest; wait; launch.sh compare
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=docs/results/tau2-2026-12-02
BATCHES=4
export LITELLM_LOCAL_MODEL_COST_MAP=True
mkdir -p $HERE/runs
run() {  # METHOD [--until-batch N]: start or resume one method's run
  local out=$HERE/runs/$1 args
  if [ -s "$out/runlog.jsonl" ]; then
    args=(--resume)
  else
    args=(--domain airline --split test --methods "$1" --limit 20 --batches $BATCHES --max-steps 5 --max-turns 8
          --k 2 --seed 0)
  fi
  taskset -c "${CORE:-0}" nice -n "${NICE:-19}" .venv/bin/seer-mcp run tau2 "${args[@]}" "${@:2}" --out "$out" \
    >> "$HERE/runs/$1.log" 2>&1
}
# react first; each memory method runs its first batch itself, then starts from react's batches up to the first
# success (`run fork`: identical episodes while the pool is empty, refused if the method's own first batch
# differs from react's, e.g. if the simulated customer were not deterministic), and runs the rest for real
source docs/results/bench_steps.sh
bench_steps "$@"
