#!/usr/bin/env bash
# The four runs side by side: seer alone on core 0, react/static/query sharing core 1 (their cost per
# question is about a third of seer's). Same settings and seed, so the same question stream.
cd /work/runs
nohup taskset -c 0 ./measure25.sh seer /work/runs/m25-seer > m25-seer.log 2>&1 &
for m in react static query; do
  nohup taskset -c 1 ./measure25.sh $m /work/runs/m25-$m > m25-$m.log 2>&1 &
done
# resume after an interruption: the same lines with "--resume" appended to measure25.sh's arguments
