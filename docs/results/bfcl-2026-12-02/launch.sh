#!/usr/bin/env bash
# BFCL multi_turn_base, 50 entries (seeded sample), react vs query vs seer, online, embedded Qwen2.5-Coder-1.5B.
# seer is today's default (eighth session on): its question-type gate (min_overlap 0.85 of type words; between
# BFCL entries that overlap never exceeds 0.29) opens on an intent the agent gets right less than half the time.
# Until then this measured seer-nogate (no gate at all), whose partial run (10 entries) stays in runs/.
# One run folder per method (same --seed/--limit/--batches, so the same entry stream), on core 0 at the lowest
# priority (the machine is shared). react runs first, to the end; then `run fork` gives each memory method the
# batches it must repeat token for token (its pool is empty up to and including the first batch with a success;
# `fork` refuses if the method's own earlier tasks differ from react's), and --resume runs the rest for real.
# Re-running this script resumes where it stopped (finished tasks are skipped; --resume reads the run logs).
# Steps (default: all four in order): launch.sh [react] [first] [rest] [compare], CORE (default 0), NICE
# (default 19), METHODS (the memory methods, default "query seer"):
#   (react, first, rest, compare: see docs/results/bench_steps.sh)
# e.g. two cores: CORE=0 launch.sh react & CORE=1 launch.sh first rest; wait; launch.sh compare
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=docs/results/bfcl-2026-12-02
BATCHES=10
mkdir -p $HERE/runs
run() {  # METHOD [--until-batch N]
  local out=$HERE/runs/$1 args
  if [ -s "$out/runlog.jsonl" ]; then
    args=(--resume)
  else
    args=(--methods "$1" --limit 50 --batches $BATCHES --max-steps 5 --k 2 --seed 0)
  fi
  taskset -c "${CORE:-0}" nice -n "${NICE:-19}" .venv/bin/seer-mcp run bfcl "${args[@]}" "${@:2}" --out "$out" \
    >> "$HERE/runs/$1.log" 2>&1
}
source docs/results/bench_steps.sh
bench_steps "$@"
