#!/usr/bin/env bash
# The easy online runs from the 8 official seeds, four methods side by side on core 1 (core 0 stays free
# for other work). CODE: a snapshot of the commit under test (snapshot.sh), first on PYTHONPATH, so work
# on main does not change a running measurement. Resume: the same lines with "online --resume" appended.
# (Started on 2026-12-02: react, static, query, seer from a22bd04, seer-gate from bc38060; resume all
# from one later snapshot: behaviour is unchanged.)
CODE=${CODE:-/work/runs/code-head}
cd /work/runs
for m in react static query seer seer-gate; do
  PYTHONPATH=$CODE/.pythonpath nohup taskset -c 1 nice -n 5 $CODE/docs/results/toolqa-2026-12-02-seeds8/measure.sh \
    $m /work/runs/s8-easy-$m easy seeds8 "$@" > s8-easy-$m.log 2>&1 &
done
