#!/usr/bin/env bash
# CPU seconds (user+sys, the harness process incl. llama.cpp threads) and finished tasks per method run.
date -u +%FT%TZ
for pid in $(pgrep -f "seer-mcp run toolqa --methods"); do
  m=$(tr '\0' ' ' < /proc/$pid/cmdline | grep -o -- "--methods [a-z-]*" | cut -d' ' -f2)
  ticks=$(awk '{print $14+$15+$16+$17}' /proc/$pid/stat)
  tasks=$(grep -c '"kind":"task"' /work/runs/m25-$m/runlog.jsonl)
  echo "$m cpu_s=$((ticks / $(getconf CLK_TCK))) tasks=$tasks"
done
