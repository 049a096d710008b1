#!/usr/bin/env bash
# ToolQA-easy measurement with the embedded 1.5B model (online protocol), 4 domains x 25 questions.
# Usage: measure25.sh METHOD OUT [extra options]; pin with taskset to give each run its own core share.
cd /work/main
export SEER_HOME=/work/seer-measure-home
D=/work/runs/measure-data
exec .venv/bin/seer-mcp run toolqa --methods "$1" --domains coffee,gsm8k,flight,airbnb --level easy \
  --limit 25 --batches 10 --k 4 --protocol online --model default --intent server \
  --corpus $D/external_corpus --questions $D/questions --seeds $D/seed_library.json \
  --out "$2" --seed 0 "${@:3}"
