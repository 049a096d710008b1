#!/usr/bin/env bash
# Start (or, run again, resume) a set of runs on one core: launch.sh SET, CORE=0|1 (default 1), NICE
# (default 5; 19 leaves the core to other work first).
#   easy     online, easy, from the 8 official seeds: react static query seer seer-nogate
#   hard     online, hard (coffee, flight, airbnb x 20), from the 8 seeds: react static query seer
#   heldout  learn on half, test the frozen pool on the other half: seer query
#   starts   seer from an empty pool and from the 240 oracle seeds (online, easy)
#   order2   the easy online run with a second stream order (--seed 1): react static query seer (METHODS)
#   other    easy online from the 8 seeds, seer-other (seer whose gate falls back to other domains'
#            demonstrations), on its own code snapshot (commit c009982: the method did not exist before);
#            stopped after 4 questions (README: it copies other domains' tools), not to be resumed as is
#   any      easy online, seer-any (other domains' demonstrations only for a domain never seen) from the 8
#            seeds and from an empty pool, on the same snapshot as `other` (c009982)
#   anyprobe seer-any on the 25 easy airbnb questions alone, from the 8 seeds, on commit 33228db: the first
#            probe and the `any` set ran with the pool's review tools in the model's prompt (README)
#   adaptive seer-adaptive (the type gate opens where the agent is weak), easy and hard online from the 8
#            seeds, on commit 86169a7 (its prompt is byte-identical to e4f5ade's)
#   adaptive-heldout  seer-adaptive in the heldout protocol (as `heldout`), on the same commit as `adaptive`
#   adaptive-order2   seer-adaptive on the second stream order (as `order2`), on the same commit as `adaptive`
# CODE: a frozen snapshot of the commit under test (snapshot.sh; made from COMMIT if absent), first on
# PYTHONPATH, so work on main does not change a running measurement. Progress: /work/runs/NAME.log.
set -euo pipefail
HERE=/work/main/docs/results/toolqa-2026-12-02-seeds8
if [ "$1" = other ] || [ "$1" = any ]; then CODE=${CODE:-/work/runs/code-other}; COMMIT=${COMMIT:-c009982}; fi
if [ "$1" = anyprobe ]; then CODE=${CODE:-/work/runs/code-roles}; COMMIT=${COMMIT:-33228db}; fi
if [ "${1%%-*}" = adaptive ]; then CODE=${CODE:-/work/runs/code-adaptive}; COMMIT=${COMMIT:-86169a7}; fi
CODE=${CODE:-/work/runs/code-head}
COMMIT=${COMMIT:-e4f5ade}  # the code every run of this measurement started with; resumes use it too
CORE=${CORE:-1}
NICE=${NICE:-5}
[ -d "$CODE" ] || bash "$HERE/snapshot.sh" "$COMMIT" "$CODE"
mkdir -p /work/runs
pgrep -f "$HERE/server_cpu.py" > /dev/null || nohup python3 "$HERE/server_cpu.py" > /work/runs/server_cpu.log 2>&1 &
start() {  # NAME METHOD LEVEL START [PROTOCOL] [extra]
  local name=$1; shift
  PYTHONPATH=$CODE/.pythonpath nohup taskset -c "$CORE" nice -n "$NICE" "$HERE/measure.sh" "$1" "$name" "${@:2}" \
    > "/work/runs/$name.log" 2>&1 &
}
case "$1" in
  easy) for m in react static query seer seer-nogate; do start "s8-easy-$m" "$m" easy seeds8; done ;;
  hard) for m in react static query seer; do start "s8-hard-$m" "$m" hard seeds8; done ;;
  heldout) for m in ${METHODS:-seer query}; do start "s8-heldout-$m" "$m" easy seeds8 heldout; done ;;
  starts) start empty-easy-seer seer easy empty; start o240-easy-seer seer easy oracle240 ;;
  other) start s8-easy-seer-other seer-other easy seeds8 ;;
  any) start s8-easy-seer-any seer-any easy seeds8; start empty-easy-seer-any seer-any easy empty ;;
  anyprobe) start probe2-airbnb-seer-any seer-any easy seeds8 online --domains airbnb ;;
  adaptive) start s8-easy-seer-adaptive seer-adaptive easy seeds8; start s8-hard-seer-adaptive seer-adaptive hard seeds8 ;;
  adaptive-heldout) start s8-heldout-seer-adaptive seer-adaptive easy seeds8 heldout ;;
  adaptive-order2) start s8-easy2-seer-adaptive seer-adaptive easy seeds8 online --seed 1 ;;
  order2) for m in ${METHODS:-react static query seer}; do start "s8-easy2-$m" "$m" easy seeds8 online --seed 1; done ;;
  *) echo "unknown set $1" >&2; exit 2 ;;
esac
